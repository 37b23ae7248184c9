/* SPDX-License-Identifier: MIT */
/*
 * regbuf top: regbuf ps refreshed in the terminal. Plain ANSI escapes and
 * termios, nothing beyond libc: it works over ssh in any terminal. Keys:
 * q quits, s changes the sort, up/down (or j/k) select a process, p then
 * a pid and Enter picks one; the selected process is shown in detail,
 * with the advice for it. Without a terminal (or with --iterations N) it
 * prints frames one after another.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "ps.h"

const char top_usage[] =
	"usage: regbuf top [--pid P] [--user U] [--interval S] [--iterations N]\n"
	"  regbuf ps, refreshed every S seconds (1): sorted by pinned memory;\n"
	"  keys: q quit, s sort (pinned, rings, buffers, pid), up/down or j/k\n"
	"  select, p PID Enter pick a process.\n";

enum { SORT_PINNED, SORT_RINGS, SORT_BUFS, SORT_PID, SORT_NR };
static const char *const sort_name[SORT_NR] = {"pinned", "rings", "buffers",
					       "pid"};

static struct termios saved;
static bool raw_on;

static void raw_off(void)
{
	if (raw_on) {
		tcsetattr(0, TCSANOW, &saved);
		fputs("\033[?25h\n", stdout);
		fflush(stdout);
		raw_on = false;
	}
}

static void on_signal(int sig)
{
	raw_off();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void raw_mode(void)
{
	struct termios t;

	if (tcgetattr(0, &saved))
		return;
	t = saved;
	t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	t.c_cc[VMIN] = 0;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(0, TCSANOW, &t))
		return;
	raw_on = true;
	atexit(raw_off);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	fputs("\033[?25l", stdout);
}

/* Folio maps are read once per range and process, not every second. */
struct cached {
	pid_t pid;
	struct ps_range r;
};
static struct cached *cache;
static unsigned nr_cache;

static void map_cached(pid_t pid, struct ps_range *r)
{
	uint32_t rings = r->rings;
	struct cached *n;

	for (unsigned i = 0; i < nr_cache; i++)
		if (cache[i].pid == pid && cache[i].r.addr == r->addr &&
		    cache[i].r.len == r->len) {
			*r = cache[i].r;
			r->rings = rings;
			return;
		}
	ps_map_range(pid, r);
	n = realloc(cache, (nr_cache + 1) * sizeof(*n));
	if (n) {
		cache = n;
		cache[nr_cache++] = (struct cached){pid, *r};
	}
}

static uint64_t proc_bufs(const struct ps_proc *p)
{
	uint64_t n = 0;

	for (uint32_t r = 0; r < p->nr_rings; r++)
		n += p->rings[r].nr_bufs;
	return n;
}

static int sort_key;

static int cmp_proc(const void *a, const void *b)
{
	const struct ps_proc *x = a, *y = b;
	uint64_t u, v;

	switch (sort_key) {
	case SORT_RINGS:
		u = x->nr_rings, v = y->nr_rings;
		break;
	case SORT_BUFS:
		u = proc_bufs(x), v = proc_bufs(y);
		break;
	case SORT_PID:
		return (x->pid > y->pid) - (x->pid < y->pid);
	default:
		u = x->vmpin, v = y->vmpin;
	}
	return (u < v) - (u > v); /* largest first */
}

struct frame {
	const struct ps_snap *s;
	pid_t sel;
	unsigned rows;
};

static void advice_line(void *arg, const char *line)
{
	const pid_t *sel = arg;
	char tag[32];

	snprintf(tag, sizeof(tag), "pid %d ", (int)*sel);
	/* the selected process's lines, and every user line */
	if (!strncmp(line, tag, strlen(tag)) || !strncmp(line, "user ", 5))
		printf("  advice: %s.\n", line);
}

static void draw(const struct frame *f, bool tty, const char *pick)
{
	const struct ps_snap *s = f->s;
	uint64_t pinned = 0, rings = 0, bufs = 0;
	char a[32], b[32], user[32], when[32];
	time_t now = time(NULL);
	unsigned shown = 0;

	for (uint32_t i = 0; i < s->nr_procs; i++) {
		pinned += s->procs[i].vmpin;
		rings += s->procs[i].nr_rings;
		bufs += proc_bufs(&s->procs[i]);
	}
	strftime(when, sizeof(when), "%H:%M:%S", localtime(&now));
	if (tty)
		fputs("\033[H\033[2J", stdout);
	printf("regbuf top %s: %u process(es), %llu ring(s), %llu buffer(s), %s pinned; sort: %s%s\n",
	       when, s->nr_procs, (unsigned long long)rings,
	       (unsigned long long)bufs, rb_fmt_size(pinned, a, sizeof(a)),
	       sort_name[sort_key],
	       s->all ? "" : " (this user's processes only: not root)");
	printf("%-2s %-7s %-8s %-15s %5s %6s %10s %10s\n", "", "PID", "USER",
	       "COMMAND", "RINGS", "BUFS", "VMPIN", "MEMLOCK");
	for (uint32_t i = 0; i < s->nr_procs && shown < f->rows; i++, shown++) {
		const struct ps_proc *p = &s->procs[i];

		printf("%-2s %-7d %-8.8s %-15.15s %5u %6llu %10s %10s\n",
		       p->pid == f->sel ? ">" : "", (int)p->pid,
		       ps_user_name(p->uid, user, sizeof(user)), p->comm,
		       p->nr_rings, (unsigned long long)proc_bufs(p),
		       rb_fmt_size(p->vmpin, a, sizeof(a)),
		       p->cap_ipc_lock ? "not enforced"
		       : p->memlock == UINT64_MAX
			       ? "unlimited"
			       : rb_fmt_size(p->memlock, b, sizeof(b)));
	}
	for (uint32_t i = 0; i < s->nr_procs; i++) {
		const struct ps_proc *p = &s->procs[i];

		if (p->pid != f->sel)
			continue;
		printf("\npid %d (%s):\n", (int)p->pid, p->comm);
		for (uint32_t r = 0; r < p->nr_ranges; r++) {
			const struct ps_range *g = &p->ranges[r];

			printf("  0x%llx %9s in %u ring(s): %s\n",
			       (unsigned long long)g->addr,
			       rb_fmt_size(g->len, a, sizeof(a)), g->rings,
			       g->mapped ? g->map : g->why);
		}
		ps_advice(s, advice_line, (void *)&f->sel);
	}
	if (pick)
		printf("\npick pid: %s_\n", pick);
	else
		printf("\nq quit  s sort  up/down select  p pick a pid\n");
	fflush(stdout);
}

/* One key or escape sequence from the terminal within ms, else 0. */
static int read_key(int ms)
{
	struct pollfd pfd = {.fd = 0, .events = POLLIN};
	unsigned char c[3];
	ssize_t n;

	if (poll(&pfd, 1, ms) <= 0)
		return 0;
	n = read(0, c, sizeof(c));
	if (n <= 0)
		return n < 0 && errno == EINTR ? 0 : 'q'; /* terminal gone */
	if (n == 3 && c[0] == 27 && c[1] == '[')
		return c[2] == 'A' ? 'k' : c[2] == 'B' ? 'j' : 0;
	return c[0];
}

int cmd_top(int argc, char **argv)
{
	struct ps_filter f = {.uid = (uid_t)-1};
	double interval = 1;
	long iterations = -1;
	bool tty;
	pid_t sel = 0;
	char pick[16];
	int picking = 0, ret;

	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(argv[i], "--interval") && v) {
			interval = atof(v), i++;
			if (interval <= 0 || interval > 3600)
				return usage_error("top", "bad interval");
		} else if (!strcmp(argv[i], "--iterations") && v) {
			iterations = atol(v), i++;
			if (iterations < 1)
				return usage_error("top", "bad iterations");
		} else if ((ret = ps_parse_filter("top", argc, argv, &f, &i))) {
			return ret;
		}
	}
	tty = isatty(0) && isatty(1) && getenv("TERM") &&
	      strcmp(getenv("TERM"), "dumb");
	if (tty && iterations < 0)
		raw_mode();
	for (long it = 0; iterations < 0 || it < iterations; it++) {
		struct winsize ws = {0};
		struct ps_snap s;
		struct frame fr;
		double t0 = now_ms();

		if (ps_scan(&f, &s)) {
			fprintf(stderr, "regbuf top: cannot read /proc\n");
			return 1;
		}
		for (uint32_t i = 0; i < s.nr_procs; i++)
			for (uint32_t r = 0; r < s.procs[i].nr_ranges; r++)
				map_cached(s.procs[i].pid,
					   &s.procs[i].ranges[r]);
		if (s.nr_procs) /* qsort takes no NULL base */
			qsort(s.procs, s.nr_procs, sizeof(*s.procs), cmp_proc);
		if (!sel && s.nr_procs)
			sel = s.procs[0].pid;
		ioctl(1, TIOCGWINSZ, &ws);
		fr = (struct frame){&s, sel,
				    ws.ws_row > 12 ? ws.ws_row - 12u : 10};
		draw(&fr, raw_on, picking ? pick : NULL);
		if (!raw_on) {
			ps_free(&s);
			if (iterations < 0 || it + 1 < iterations) {
				putchar('\n');
				nanosleep(
					&(struct timespec){
						(time_t)interval,
						(long)((interval -
							(long)interval) *
						       1e9)},
					NULL);
			}
			continue;
		}
		/* keys until the next refresh */
		for (int k;
		     (k = read_key(
			      (int)(interval * 1000 - (now_ms() - t0)) > 0
				      ? (int)(interval * 1000 - (now_ms() - t0))
				      : 0));) {
			uint32_t at = 0;

			if (picking) {
				size_t n = strlen(pick);

				if (k >= '0' && k <= '9' &&
				    n + 1 < sizeof(pick))
					pick[n] = (char)k, pick[n + 1] = '\0';
				else if (k == '\n' || k == '\r')
					sel = atoi(pick), picking = 0;
				else if (k == 27)
					picking = 0;
				break;
			}
			for (uint32_t i = 0; i < s.nr_procs; i++)
				if (s.procs[i].pid == sel)
					at = i;
			if (k == 'q') {
				ps_free(&s);
				free(cache);
				return 0;
			}
			if (k == 's')
				sort_key = (sort_key + 1) % SORT_NR;
			else if (k == 'j' && at + 1 < s.nr_procs)
				sel = s.procs[at + 1].pid;
			else if (k == 'k' && at > 0)
				sel = s.procs[at - 1].pid;
			else if (k == 'p')
				picking = 1, pick[0] = '\0';
			break; /* redraw now */
		}
		ps_free(&s);
	}
	free(cache);
	return 0;
}
