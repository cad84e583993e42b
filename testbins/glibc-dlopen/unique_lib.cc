// Built twice (libuniq_a.so, libuniq_b.so) for glibc_dlopen::
// unique_symbols_are_shared_across_local_scopes: an inline function's
// static and a template's static member are STB_GNU_UNIQUE, one object
// per process even between RTLD_LOCAL plugins.
inline int &counter() {
  static int c = 0;
  return c;
}
template <class T> struct Registry { static int entries; };
template <class T> int Registry<T>::entries = 0;
extern "C" int bump() { return ++counter(); }
extern "C" int register_one() { return ++Registry<int>::entries; }
// An import of a versioned libc symbol gives the library a version table
// (.gnu.version), where its own definitions are unversioned.
extern "C" int puts(const char *);
extern "C" int say(const char *s) { return puts(s); }
