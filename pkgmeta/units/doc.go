// Package units finds the unit a file of a root belongs to: the Python
// top-level import package, the npm package, the Ruby gem or library,
// the Perl namespace, or the dpkg or apk package (from package pkgmeta's
// database). Build and pack use it two ways: --complete KIND keeps the
// whole unit of every kept file, and every build reports what it kept of
// each unit it touched (Cut), so that a user sees that an image keeps 9
// of jinja2's 25 modules before production takes a path the trace did
// not.
//
// The units, for a path inside the root:
//
//   - python: under a sys.path entry (a site-packages or dist-packages
//     directory, the stdlib's lib/pythonX.Y, its lib-dynload), the
//     top-level directory, or the single module (NAME.py, its
//     __pycache__/NAME.*.pyc, an extension NAME.*.so), with the
//     .dist-info or .egg-info directory of the distribution whose RECORD
//     or top_level.txt names it. Its modules are its .py and .so files.
//   - node: the npm package, node_modules/NAME (or @SCOPE/NAME), or a
//     package of Debian's /usr/share/nodejs or /usr/lib/nodejs; a nested
//     node_modules is a unit of its own. Its modules are .js, .mjs,
//     .cjs, .json and .node files.
//   - ruby: a gem's directory under gems/ with its gemspec and built
//     extensions; or a library of a Ruby lib directory (lib/ruby/X.Y.Z,
//     vendor_ruby, site_ruby and their arch directories): its NAME.rb,
//     NAME.so and NAME/ in each of them. Its modules are .rb and .so files.
//   - perl: the namespace of a module (Foo/Bar.pm): Foo/Bar.pm, Foo/Bar/
//     and auto/Foo/Bar/ in every Perl lib directory of the root. Its
//     modules are .pm files and the XS .so files.
//   - os: every file of a dpkg or apk package but its documentation
//     (/usr/share/doc apart from copyright, man, info, lintian).
//
// Brings says which kept files bring their unit, into completion and
// into the cut table alike: a file under /etc (configuration, which
// libraries read in programs that use nothing else of its package, as
// glibc reads /etc/locale.alias) brings no OS package.
//
// A unit lists its regular files, symlinks and directories as they are
// in the root, found by walking it, never by running the language.
package units
