/* One sandbox job's fork and trusted set-up, in C (optional; ``_job.py`` has the same in Python).
 *
 * In a freshly forked CPython every object the set-up touches costs a copy-on-write page fault and
 * every C function it reaches a fault on the interpreter's code: done in Python, the set-up costs a
 * job ~115 faults. Here it is a run of system calls that touches nothing of the interpreter; the
 * child only returns to Python to run the job's entry. The steps and their order are exactly those
 * of ``_job._attach`` and ``_job._restrict`` (see there for the why of each).
 *
 * fork_job(pidns_fd, pdeathsig, cgroup_fds, out_w, err_w, res_w, uid, drop_caps_last, rlimits)
 *   pidns_fd        the worker's own PID namespace (-1: no PID namespace per job, rlimits mode)
 *   pdeathsig       set PR_SET_PDEATHSIG(SIGKILL) in the job (rlimits mode)
 *   cgroup_fds      tuple of open ``tasks``/``cgroup.procs`` fds the job writes "0" to
 *   out_w, err_w, res_w   the job's stdout, stderr and result pipe ends (become fds 1, 2, 3)
 *   uid             job uid to switch to (-1: stay)
 *   drop_caps_last  -1, or the last capability number: drop the bounding set, lock the
 *                   securebits and empty every capability set (single-uid user namespaces)
 *   rlimits         tuple of (resource, (soft, hard))
 * Returns the child's pid in the worker and 0 in the job (set-up done and the "S" marker written).
 * A set-up failure writes "X" + a message to the result pipe and exits with status 70.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_CGROUP_FDS 8
#define MAX_RLIMITS 16

struct limit {
    int which;
    struct rlimit value;
};

static void fail(int fd, const char *what) {
    char message[256];
    int err = errno;
    int n = snprintf(message, sizeof message, "XOSError: [Errno %d] %s: %s", err, what, strerror(err));
    if (n > 0) {
        ssize_t written = write(fd, message, (size_t)(n < (int)sizeof message ? n : (int)sizeof message - 1));
        (void)written;
    }
    _exit(70);
}

static void close_from_4(void) {
#ifdef SYS_close_range
    if (syscall(SYS_close_range, 4U, ~0U, 0U) == 0)
        return;
#endif
    long top = sysconf(_SC_OPEN_MAX);
    for (long fd = 4; fd < (top > 0 ? top : 65536); fd++)
        close((int)fd);
}

static int drop_capabilities(int last_cap) {
    for (int cap = 0; cap <= last_cap; cap++)
        prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
    /* SECBIT_NOROOT | _LOCKED | SECBIT_NO_SETUID_FIXUP | _LOCKED | SECBIT_KEEP_CAPS_LOCKED */
    if (prctl(PR_SET_SECUREBITS, 0x01 | 0x02 | 0x04 | 0x08 | 0x20, 0, 0, 0) != 0)
        return -1;
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    return (int)syscall(SYS_capset, &header, data);
}

static PyObject *fork_job(PyObject *Py_UNUSED(self), PyObject *args) {
    int pidns_fd, pdeathsig, out_w, err_w, res_w, uid, drop_caps_last;
    PyObject *cgroup_fds, *rlimits;
    if (!PyArg_ParseTuple(args, "ipO!iiiiiO!", &pidns_fd, &pdeathsig, &PyTuple_Type, &cgroup_fds, &out_w, &err_w,
                          &res_w, &uid, &drop_caps_last, &PyTuple_Type, &rlimits))
        return NULL;
    int cgroups[MAX_CGROUP_FDS];
    struct limit limits[MAX_RLIMITS];
    Py_ssize_t n_cgroups = PyTuple_GET_SIZE(cgroup_fds), n_limits = PyTuple_GET_SIZE(rlimits);
    if (n_cgroups > MAX_CGROUP_FDS || n_limits > MAX_RLIMITS) {
        PyErr_SetString(PyExc_ValueError, "too many cgroup fds or rlimits");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n_cgroups; i++) {
        cgroups[i] = (int)PyLong_AsLong(PyTuple_GET_ITEM(cgroup_fds, i));
        if (cgroups[i] == -1 && PyErr_Occurred())
            return NULL;
    }
    for (Py_ssize_t i = 0; i < n_limits; i++) {
        unsigned long long soft, hard;
        if (!PyArg_ParseTuple(PyTuple_GET_ITEM(rlimits, i), "i(KK)", &limits[i].which, &soft, &hard))
            return NULL;
        limits[i].value.rlim_cur = (rlim_t)soft;
        limits[i].value.rlim_max = (rlim_t)hard;
    }
    if (pidns_fd >= 0 && (setns(pidns_fd, CLONE_NEWPID) != 0 || unshare(CLONE_NEWPID) != 0))
        return PyErr_SetFromErrno(PyExc_OSError);
    pid_t pid = fork(); /* the worker is single-threaded; no CPython after-fork hooks, as _linux.raw_fork */
    if (pid < 0)
        return PyErr_SetFromErrno(PyExc_OSError);
    if (pid > 0)
        return PyLong_FromLong((long)pid);

    /* The job. Nothing below touches a Python object until the marker is written. */
    if (pdeathsig && prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
        fail(res_w, "prctl(PR_SET_PDEATHSIG)");
    for (Py_ssize_t i = 0; i < n_cgroups; i++)
        if (write(cgroups[i], "0", 1) != 1)
            fail(res_w, "entering the job cgroup");
    if (setsid() < 0)
        fail(res_w, "setsid");
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0 || dup2(res_w, 3) < 0)
        fail(res_w, "dup2");
    close_from_4();
    if (chdir("/tmp") != 0)
        fail(3, "chdir /tmp");
    if (uid >= 0) {
        if (setgroups(0, NULL) != 0 || setresgid((gid_t)uid, (gid_t)uid, (gid_t)uid) != 0
            || setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) != 0)
            fail(3, "switching to the job uid");
    } else if (drop_caps_last >= 0 && drop_capabilities(drop_caps_last) != 0) {
        fail(3, "dropping capabilities");
    }
    for (Py_ssize_t i = 0; i < n_limits; i++)
        if (setrlimit(limits[i].which, &limits[i].value) != 0)
            fail(3, "setrlimit");
    if (uid >= 0 && prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0) /* see _job._restrict */
        fail(3, "prctl(PR_SET_DUMPABLE)");
    if (write(3, "S", 1) != 1)
        _exit(70);
    return PyLong_FromLong(0);
}

static PyMethodDef methods[] = {
    {"fork_job", fork_job, METH_VARARGS, "Fork one sandbox job and run its trusted set-up (see the module source)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, .m_name = "_fastjob", .m_doc = NULL, .m_size = -1, .m_methods = methods,
};

PyMODINIT_FUNC PyInit__fastjob(void) { return PyModule_Create(&module); }
