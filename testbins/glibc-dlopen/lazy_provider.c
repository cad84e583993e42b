/* libprovider.so: the definition liblazy.so's provided_later finds. */
int provided_later(int x) { return x * 10; }
