/*
 * nsexec: the kernel's share of starting a container, with no runtime around it.
 * The bench runs QEMU through it beside `urunc run` and QEMU by hand: what it
 * costs over QEMU by hand is what the kernel charges any runtime for the same
 * container (five new namespaces, a cgroup in every hierarchy, their teardown);
 * what `urunc run` costs over it is urunc's own (its process, the spec, the
 * state, the monitor root, the exec fifo and the delete).
 *
 *     nsexec NAME -- argv...
 *
 * clone(2) with new mount, UTS, IPC, PID and network namespaces (the test
 * bundle's); the parent makes NAME in every mounted cgroup hierarchy, v1 and
 * v2, under its own cgroup there (cpuset.cpus and cpuset.mems copied from the
 * parent, as a runtime must), writes the child's pid into each, lets it exec
 * argv, waits, removes the cgroups and exits with the child's status. No
 * pivot_root, no state, no checks: a floor, not a runtime.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_CG 32

static char dirs[MAX_CG][1200];
static int ndirs;

static void die(const char *what)
{
    fprintf(stderr, "nsexec: %s: %s\n", what, strerror(errno));
    exit(2);
}

static int read_small(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = 0;
    return (int)n;
}

static int write_small(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, text, strlen(text));
    close(fd);
    return n < 0 ? -1 : 0;
}

/* Our own cgroup in the hierarchy with these controllers ("" for v2):
 * /proc/self/cgroup lines are "id:controllers:path", read once for all. */
static const char *own_path(const char *controllers)
{
    static char path[512], table[4096];
    static int have = 0;
    char *save = NULL;
    char buf[sizeof table];
    strcpy(path, "/");
    if (!have)
        have = read_small("/proc/self/cgroup", table, sizeof table) < 0 ? -1 : 1;
    if (have < 0)
        return path;
    memcpy(buf, table, sizeof buf);
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *c = strchr(line, ':');
        char *p = c ? strchr(c + 1, ':') : NULL;
        if (!p)
            continue;
        *p = 0;
        if (strcmp(c + 1, controllers) == 0) {
            snprintf(path, sizeof path, "%s", p + 1);
            break;
        }
    }
    return path;
}

/* The cgroup dirs to make: one per cgroup mount in mountinfo. */
static void plan_cgroups(const char *name)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    char line[4096];
    if (!f)
        die("open /proc/self/mountinfo");
    while (fgets(line, sizeof line, f) && ndirs < MAX_CG) {
        char *sep = strstr(line, " - ");
        char mnt[512], fstype[64], src[256], opts[1024];
        if (!sep || sscanf(line, "%*s %*s %*s %*s %511s", mnt) != 1 ||
            sscanf(sep + 3, "%63s %255s %1023s", fstype, src, opts) != 3)
            continue;
        const char *own;
        if (strcmp(fstype, "cgroup2") == 0) {
            own = own_path("");
        } else if (strcmp(fstype, "cgroup") == 0) {
            /* The controllers of a v1 hierarchy are among its super options. */
            char want[256] = "";
            char *save = NULL;
            for (char *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
                if (!strcmp(o, "rw") || !strcmp(o, "ro") || !strncmp(o, "release_agent", 13) ||
                    !strcmp(o, "xattr") || !strcmp(o, "clone_children") || !strcmp(o, "noprefix"))
                    continue;
                if (want[0])
                    strncat(want, ",", sizeof want - strlen(want) - 1);
                strncat(want, o, sizeof want - strlen(want) - 1);
            }
            own = own_path(want);
        } else {
            continue;
        }
        if (snprintf(dirs[ndirs++], sizeof dirs[0], "%s%s/%s", mnt, strcmp(own, "/") ? own : "",
                     name) >= (int)sizeof dirs[0])
            die("cgroup path too long");
    }
    fclose(f);
}

static void copy_cpuset(const char *dir, const char *file)
{
    char path[sizeof dirs[0] + 32], parent[sizeof dirs[0] + 32], val[256];
    if (snprintf(path, sizeof path, "%s/%s", dir, file) >= (int)sizeof path ||
        snprintf(parent, sizeof parent, "%.*s/%s", (int)(strrchr(dir, '/') - dir), dir, file) >=
            (int)sizeof parent)
        return;
    if (read_small(parent, val, sizeof val) > 0)
        write_small(path, val);
}

int main(int argc, char **argv)
{
    if (argc < 4 || strcmp(argv[2], "--") != 0) {
        fprintf(stderr, "usage: nsexec NAME -- argv...\n");
        return 2;
    }
    plan_cgroups(argv[1]);
    int go[2];
    if (pipe2(go, O_CLOEXEC) < 0)
        die("pipe");
    pid_t child = (pid_t)syscall(SYS_clone, CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC |
                                                CLONE_NEWPID | CLONE_NEWNET | SIGCHLD,
                                 NULL, NULL, NULL, 0);
    if (child < 0)
        die("clone");
    if (child == 0) {
        char c;
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* a killed nsexec takes its QEMU along */
        close(go[1]);
        if (read(go[0], &c, 1) != 1)
            _exit(1);
        execvp(argv[3], argv + 3);
        _exit(127);
    }
    close(go[0]);
    char pid[32];
    snprintf(pid, sizeof pid, "%d", child);
    for (int i = 0; i < ndirs; ++i) {
        if (mkdir(dirs[i], 0755) < 0 && errno != EEXIST)
            die(dirs[i]);
        if (strstr(dirs[i], "cpuset")) {
            copy_cpuset(dirs[i], "cpuset.cpus");
            copy_cpuset(dirs[i], "cpuset.mems");
        }
        char procs[sizeof dirs[0] + 16];
        if (snprintf(procs, sizeof procs, "%s/cgroup.procs", dirs[i]) >= (int)sizeof procs)
            die("cgroup path too long");
        if (write_small(procs, pid) < 0)
            die(procs);
    }
    if (write(go[1], "g", 1) != 1)
        die("release the child");
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
    for (int i = ndirs - 1; i >= 0; --i)
        rmdir(dirs[i]);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
