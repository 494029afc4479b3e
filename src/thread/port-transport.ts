/**
 * The MessagePort transport: every message is posted on the worker's port (structured clone)
 * and pulled with `receiveMessageOnPort`. `postMessage` enqueues on the receiving port
 * synchronously, so a message posted before its bell rings is there when the receiver looks.
 */
import { receiveMessageOnPort } from 'node:worker_threads'
import { BellTransport } from './transport.js'

export class PortTransport<Out, In> extends BellTransport<Out, In> {
  send(message: Out): void {
    this.port.postMessage(message)
    this.ring()
  }

  drain(deliver: (message: In) => void): void {
    this.awake()
    for (;;) {
      const received = receiveMessageOnPort(this.port)
      if (!received) return
      deliver(received.message as In)
    }
  }
}
