/* Preloaded into a server run under valgrind 3.19, which crashes when the main thread of a Swift async main
   (libdispatch's dispatch_main) parks in rt_sigsuspend: park it in sleep instead. Signals still arrive. */
#include <signal.h>
#include <unistd.h>
int sigsuspend(const sigset_t *mask) { (void)mask; for (;;) sleep(1000); return -1; }
