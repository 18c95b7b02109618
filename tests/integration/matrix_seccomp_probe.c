/*
 * A stand-in for solo5-hvt that survives urunc's hvt seccomp allow-list, built at test
 * time by vmm_matrix.bats (x86_64 only, no libc: static glibc's start-up code alone makes
 * syscalls the list does not allow, e.g. readlink("/proc/self/exe"), so the regular fake
 * VMM is killed with SIGSYS before it prints anything).
 *
 * It uses only open, read, write and exit_group (all on the list). It prints its argv and
 * the Seccomp:/NoNewPrivs: lines of /proc/self/status as `probe: ...` lines, then
 * `probe: calling getuid` and makes getuid(2), which the list does not allow: under the
 * filter the process dies with SIGSYS there; without it, it prints `probe: survived` and
 * exits 0.
 */
typedef unsigned long size_t;

#define SYS_read 0
#define SYS_write 1
#define SYS_open 2
#define SYS_getuid 102
#define SYS_exit_group 231

static long sys3(long n, long a, long b, long c)
{
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return r;
}

static size_t len(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

static void out(const char *s, size_t n)
{
    while (n > 0) {
        long w = sys3(SYS_write, 1, (long)s, (long)n);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static void puts_(const char *s) { out(s, len(s)); }

static int starts(const char *s, size_t n, const char *p)
{
    size_t k = len(p);
    if (n < k)
        return 0;
    for (size_t i = 0; i < k; i++)
        if (s[i] != p[i])
            return 0;
    return 1;
}

static char status[8192];

void probe_main(long *sp)
{
    long argc = sp[0];
    char **argv = (char **)(sp + 1);
    for (long i = 0; i < argc; i++) {
        puts_("probe: argv=");
        puts_(argv[i]);
        puts_("\n");
    }
    long fd = sys3(SYS_open, (long)"/proc/self/status", 0, 0);
    size_t n = 0;
    if (fd >= 0) {
        long r;
        while (n < sizeof(status) &&
               (r = sys3(SYS_read, fd, (long)(status + n), (long)(sizeof(status) - n))) > 0)
            n += (size_t)r;
    }
    for (size_t i = 0; i < n;) {
        size_t e = i;
        while (e < n && status[e] != '\n')
            e++;
        if (starts(status + i, e - i, "Seccomp:") || starts(status + i, e - i, "NoNewPrivs:")) {
            puts_("probe: ");
            out(status + i, e - i);
            puts_("\n");
        }
        i = e + 1;
    }
    puts_("probe: calling getuid\n");
    sys3(SYS_getuid, 0, 0, 0);
    puts_("probe: survived\n");
    sys3(SYS_exit_group, 0, 0, 0);
    for (;;)
        ;
}

/* The kernel starts us with argc at (%rsp); keep the stack 16-byte aligned for the call. */
__asm__(".globl _start\n"
        "_start:\n"
        "  mov %rsp, %rdi\n"
        "  and $-16, %rsp\n"
        "  call probe_main\n"
        "  hlt\n");
