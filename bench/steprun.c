/*
 * steprun: the bench's timer.  Runs a sequence of steps (commands and a few
 * built-ins) for a number of iterations, optionally with several iterations in
 * flight at once, and prints one line per step executed:
 *
 *     R <iter> <step> <start_mono_ns> <duration_ns> <status> <maxrss_kib>
 *
 * and at the end `M <makespan_ns>`.  Status is the exit code, 128+signal,
 * 124 for a timeout, or a built-in's result.  maxrss is the child's peak RSS
 * from wait4(2) (the same number as /usr/bin/time's %M), 0 for built-ins.
 *
 * Why a C helper rather than hyperfine: the bench needs per-command times
 * inside one sequence (create, start, delete), the start instant of `create`
 * on CLOCK_MONOTONIC to compare with the fake VMM's own clock reading, peak
 * RSS per command, and N sequences released at the same instant.  Commands are
 * started with posix_spawn (vfork-like) so the timer adds ~0.1 ms per command,
 * the same for every runtime measured.
 *
 * Usage:
 *   steprun now
 *   steprun [-n iters] [-s first] [-p parallel] [-t timeout_s] [-o file] \
 *           -- step [::: step ...]
 * A step is argv (`%i` in any word is replaced by the iteration number), or
 *   @out=FILE argv...        the command's stdout+stderr go to FILE (appended)
 *   @wait FILE NEEDLE        poll until FILE contains NEEDLE (status 0, or 124)
 *   @nproc EXE NEEDLE        status = number of processes whose exe is EXE and
 *                            whose command line contains NEEDLE
 *   @always step...          run even when an earlier step of the iteration
 *                            failed (cleanup); other steps are then skipped
 * By default commands write to -o's file, else /dev/null.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *msg)
{
    fprintf(stderr, "steprun: %s: %s\n", msg, strerror(errno));
    exit(2);
}

struct step {
    char **argv;
    int argc;
    const char *out; /* @out= target or NULL */
    int always;      /* runs after a failed step too */
};

static struct step steps[64];
static int nsteps;
static int timeout_s = 60;
static const char *default_out = "/dev/null";

/* `%i` -> iteration number, in a fresh string. */
static char *subst(const char *s, long iter)
{
    char num[32];
    int nl = snprintf(num, sizeof(num), "%ld", iter);
    size_t cap = strlen(s) * (size_t)(nl + 1) + 1;
    char *out = malloc(cap), *o = out;
    if (!out)
        die("malloc");
    while (*s) {
        if (s[0] == '%' && s[1] == 'i') {
            memcpy(o, num, (size_t)nl);
            o += nl, s += 2;
        } else {
            *o++ = *s++;
        }
    }
    *o = '\0';
    return out;
}

static int file_contains(const char *path, const char *needle)
{
    static char buf[1 << 16];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    return strstr(buf, needle) != NULL;
}

static int wait_for(const char *path, const char *needle)
{
    long long deadline = now_ns() + (long long)timeout_s * 1000000000LL;
    const struct timespec pause = {0, 200000};
    while (!file_contains(path, needle)) {
        if (now_ns() > deadline)
            return 124;
        nanosleep(&pause, NULL);
    }
    return 0;
}

/* Processes whose exe is `exe` and whose command line contains `needle`: on a
 * shared machine other people run the same binary. */
static int count_exe(const char *exe, const char *needle)
{
    DIR *d = opendir("/proc");
    if (!d)
        die("opendir /proc");
    int count = 0;
    struct dirent *e;
    char link[300], target[4096];
    while ((e = readdir(d))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(link, sizeof(link), "/proc/%s/exe", e->d_name);
        ssize_t n = readlink(link, target, sizeof(target) - 1);
        if (n <= 0)
            continue;
        target[n] = '\0';
        if (strcmp(target, exe) != 0)
            continue;
        snprintf(link, sizeof(link), "/proc/%s/cmdline", e->d_name);
        int fd = open(link, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        n = read(fd, target, sizeof(target) - 1);
        close(fd);
        for (ssize_t k = 0; k + 1 < n; k++)
            if (target[k] == '\0')
                target[k] = ' ';
        target[n > 0 ? n : 0] = '\0';
        count += strstr(target, needle) != NULL;
    }
    closedir(d);
    return count;
}

/* Runs argv; returns its status, fills *rss (KiB). SIGCHLD is blocked. */
static int run_cmd(char **argv, const char *out, long *rss)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none;
    sigemptyset(&none);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);

    pid_t pid;
    int err = posix_spawnp(&pid, argv[0], &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    *rss = 0;
    if (err != 0)
        return 127;

    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    long long deadline = now_ns() + (long long)timeout_s * 1000000000LL;
    int killed = 0;
    for (;;) {
        int st;
        struct rusage ru;
        pid_t r = wait4(pid, &st, WNOHANG, &ru);
        if (r == pid) {
            *rss = ru.ru_maxrss;
            if (killed)
                return 124;
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        if (r < 0 && errno != EINTR)
            die("wait4");
        long long left = deadline - now_ns();
        if (left <= 0 && !killed) {
            kill(pid, SIGKILL);
            killed = 1;
            left = 1000000000LL;
        }
        struct timespec ts = {left / 1000000000LL, left % 1000000000LL};
        sigtimedwait(&chld, NULL, &ts);
    }
}

static void emit(long iter, int step, long long start, long long dur, int status, long rss)
{
    char line[160];
    int n = snprintf(line, sizeof(line), "R %ld %d %lld %lld %d %ld\n", iter, step, start, dur,
                     status, rss);
    /* One write per line: lines from parallel workers never interleave. */
    if (write(STDOUT_FILENO, line, (size_t)n) != n)
        die("write");
}

static void run_iteration(long iter)
{
    int failed = 0;
    for (int s = 0; s < nsteps; s++) {
        struct step *st = &steps[s];
        if (failed && !st->always)
            continue; /* e.g. no waiting for a VMM whose create failed */
        char *argv[256];
        int i;
        for (i = 0; i < st->argc && i < 255; i++)
            argv[i] = subst(st->argv[i], iter);
        argv[i] = NULL;
        int status;
        long rss = 0;
        long long t0 = now_ns();
        if (strcmp(argv[0], "@wait") == 0 && st->argc == 3) {
            status = wait_for(argv[1], argv[2]);
        } else if (strcmp(argv[0], "@nproc") == 0 && st->argc == 3) {
            status = count_exe(argv[1], argv[2]);
        } else {
            char *out = st->out ? subst(st->out, iter) : (char *)default_out;
            status = run_cmd(argv, out, &rss);
            if (out != default_out)
                free(out);
        }
        long long t1 = now_ns();
        emit(iter, s, t0, t1 - t0, status, rss);
        /* @nproc's status is a count, not a failure. */
        if (status != 0 && strcmp(argv[0], "@nproc") != 0)
            failed = 1;
        for (int k = 0; k < i; k++)
            free(argv[k]);
    }
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "now") == 0) {
        printf("%lld\n", now_ns());
        return 0;
    }
    long iters = 1, first = 0, par = 1;
    int opt;
    while ((opt = getopt(argc, argv, "+n:s:p:t:o:")) != -1) {
        switch (opt) {
        case 'n': iters = atol(optarg); break;
        case 's': first = atol(optarg); break;
        case 'p': par = atol(optarg); break;
        case 't': timeout_s = atoi(optarg); break;
        case 'o': default_out = optarg; break;
        default:
            fprintf(stderr, "usage: steprun now | steprun [-n N] [-s first] [-p P] "
                            "[-t s] [-o file] -- step [::: step ...]\n");
            return 2;
        }
    }
    /* Split the rest into steps at ":::". */
    for (int i = optind; i < argc;) {
        if (nsteps == 64) {
            fprintf(stderr, "steprun: too many steps\n");
            return 2;
        }
        struct step *st = &steps[nsteps++];
        if (strcmp(argv[i], "@always") == 0)
            st->always = 1, i++;
        if (i < argc && strncmp(argv[i], "@out=", 5) == 0)
            st->out = argv[i++] + 5;
        st->argv = &argv[i];
        while (i < argc && strcmp(argv[i], ":::") != 0)
            i++, st->argc++;
        i++; /* skip ::: */
        if (st->argc == 0) {
            fprintf(stderr, "steprun: empty step\n");
            return 2;
        }
    }
    if (nsteps == 0 || iters < 1 || par < 1) {
        fprintf(stderr, "steprun: nothing to run\n");
        return 2;
    }

    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);

    if (par == 1) {
        long long t0 = now_ns();
        for (long it = first; it < first + iters; it++)
            run_iteration(it);
        printf("M %lld\n", now_ns() - t0);
        return 0;
    }

    /* Workers wait on a pipe so all of them are released at one instant. */
    int gate[2];
    if (pipe(gate) < 0)
        die("pipe");
    for (long w = 0; w < par; w++) {
        pid_t pid = fork();
        if (pid < 0)
            die("fork");
        if (pid == 0) {
            char c;
            close(gate[1]);
            while (read(gate[0], &c, 1) < 0 && errno == EINTR)
                ;
            for (long it = first + w; it < first + iters; it += par)
                run_iteration(it);
            _exit(0);
        }
    }
    close(gate[0]);
    long long t0 = now_ns();
    close(gate[1]);
    int st, bad = 0;
    pid_t r;
    while ((r = wait(&st)) > 0 || (r < 0 && errno == EINTR))
        if (r > 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
            bad = 1;
    printf("M %lld\n", now_ns() - t0);
    return bad ? 2 : 0;
}
