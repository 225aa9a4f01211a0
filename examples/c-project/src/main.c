#include <stdio.h>

#include "count.h"
#include "greet.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        greet("world");
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        greet(argv[i]);
    }
    printf("%d name(s) greeted\n", count_names(argc - 1, argv + 1));
    return 0;
}
