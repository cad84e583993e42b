/*
 * index.h: helpers shared by the libraries of tests/index.rs. Libraries
 * print nothing (the programs print what they return), so only the name
 * macros are needed; the programs print through link/say.h (raw write(2),
 * unbuffered, usable from every object).
 */
#ifndef INDEX_INDEX_H
#define INDEX_INDEX_H

#define IX_STR2(x) #x
#define IX_STR(x) IX_STR2(x)
#define IX_CAT2(a, b) a##b
#define IX_CAT(a, b) IX_CAT2(a, b)

#endif
