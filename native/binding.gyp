{
  # One shared library that is both an N-API addon and a SQLite loadable extension. It is
  # compiled against the sqlite3.h / sqlite3ext.h that better-sqlite3 ships, so that its
  # extension entry point and better-sqlite3's own SQLite agree on the API table.
  'variables': {
    'sqlite_include': '<!(node -p "require(\'path\').join(require(\'path\').dirname(require.resolve(\'better-sqlite3/package.json\')), \'deps\', \'sqlite3\')")',
  },
  'targets': [
    {
      'target_name': 'sqlaio',
      'sources': [
        'src/addon.c',
        'src/arrow.c',
        'src/batch.c',
        'src/bind.c',
        'src/busy.c',
        'src/errors.c',
        'src/memory.c',
        'src/registry.c',
        'src/run.c',
      ],
      'include_dirs': ['<(sqlite_include)'],
      'defines': ['NAPI_VERSION=8'],
      'cflags': ['-std=gnu11', '-fvisibility=hidden', '-Wall', '-Wextra', '-Wno-unused-parameter'],
      'xcode_settings': {
        'GCC_SYMBOLS_PRIVATE_EXTERN': 'YES',
        'OTHER_CFLAGS': ['-std=gnu11', '-Wall', '-Wextra', '-Wno-unused-parameter'],
      },
    },
  ],
}
