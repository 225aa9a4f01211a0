#ifndef COUNT_H
#define COUNT_H

/* Returns how many of the strings in ARGV are non-empty. */
int count_names(int argc, char **argv);

#endif
