#include "count.h"

int count_names(int argc, char **argv)
{
    int count = 0;
    for (int i = 0; i < argc; i++) {
        if (argv[i][0] != '\0') {
            count++;
        }
    }
    return count;
}
