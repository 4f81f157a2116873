// The gsnn command (placeholder until the CLI lands).
#include <cstdio>
int main() { std::puts("gsnn"); return 0; }
