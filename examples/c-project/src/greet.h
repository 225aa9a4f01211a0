#ifndef GREET_H
#define GREET_H

/* Writes "Hello, NAME!" to standard output. */
void greet(const char *name);

/* Returns how many of the strings in ARGV are non-empty. */
int count_names(int argc, char **argv);

#endif
