#include <stdio.h>
int main(void) { puts("mtalog"); return 0; }
