// SPDX-License-Identifier: MIT
/*
 * dio-trim DEVICE: does the block layer return every pin when it trims a
 * bio back to the logical block size? Run as root in the guest
 * (tests/kernels/dio-guest.sh) on a raw disk of 4096-byte logical blocks,
 * whose queue takes segments of any 512-byte multiple.
 *
 * An O_DIRECT preadv of more than 256 iovecs fills a first bio with 256
 * bvecs and ends it where the iovecs say, not on a 4096-byte boundary;
 * bio_iov_iter_align_down() then trims that bio's tail and gives the
 * trimmed bytes back to the iterator for the next bio. In each layout
 * (see layout()) the trim drops or shortens a bvec that spans two pages
 * of one hugepage and so holds two pins. A kernel that returns every pin
 * ends each read with as many pins released as acquired (/proc/vmstat,
 * folded through vm/stat_refresh) and gets the hugepages back once they
 * are unmapped. Every read is checked against the data written first.
 *
 * Prints "REGBUF-DIOTRIM layout iovecs N pins-outstanding N data ok|bad
 * hugepages-free BEFORE AFTER disk-reads N" per layout (disk-reads: the
 * requests the read became, from the disk's stat); exits 0 when it could run (a
 * leak is a result, judged by run.sh), 77 when the device or memory does
 * not fit, 1 on an I/O error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#define PG   4096UL
#define HUGE (2UL << 20)
#define NIOV 257

static long vmstat(const char *key)
{
	char name[64];
	long v, r = -1;
	FILE *f = fopen("/proc/vmstat", "r");

	if (!f)
		return -1;
	while (fscanf(f, "%63s %ld", name, &v) == 2)
		if (!strcmp(name, key))
			r = v;
	fclose(f);
	return r;
}

static long pins(void)
{
	return vmstat("nr_foll_pin_acquired") - vmstat("nr_foll_pin_released");
}

/* The first number of a sysfs file, or -1. */
static long read_long(const char *path)
{
	long v = -1;
	FILE *f = path ? fopen(path, "r") : NULL;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static long free_huge(void)
{
	return read_long(
		"/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages");
}

/*
 * The iovecs of a layout in buf (4 hugepages): the small segments each at
 * the start of its own even page of the first hugepage (never adjacent,
 * one bvec each), then the two-page one across the boundary of the first
 * two pages of the second hugepage, then a 512-byte one; the last
 * segment, in the third hugepage, makes the total a multiple of 4096. The first
 * bio ends with the 256th bvec. The page path pins at most as many pages as
 * bvecs are left, so its last bvec is one page; the two-page bvec is the 255th:
 *   partial: 254 small of 512, the two-page one 2048 bytes at 3072, one
 *            of 512 (the bio ends 1536 bytes past a block: the trim drops
 *            the last bvec and leaves the two-page one on its first page);
 *   whole:   253 small of 512 and one of 1536, the two-page one 1024
 *            bytes at 3584, one of 512 (the trim drops both);
 *   last:    255 small of 512, the two-page one 2048 bytes at 3072 as the
 *            256th bvec, which only a path pinning by folio range makes
 *            (the trim leaves it on its first page).
 * Returns the number of iovecs.
 */
enum { PARTIAL, WHOLE, LAST };
static const char *const names[] = {"partial", "whole", "last"};

static int layout(struct iovec *iov, char *buf, int kind)
{
	int nsmall = kind == LAST ? 255 : 254, n = 0;
	size_t total = 0;

	for (int i = 0; i < nsmall; i++) {
		iov[n].iov_base = buf + 2 * i * PG;
		iov[n].iov_len = kind == WHOLE && i == 253 ? 1536 : 512;
		total += iov[n++].iov_len;
	}
	iov[n].iov_base = buf + HUGE + (kind == WHOLE ? 3584 : 3072);
	iov[n].iov_len = kind == WHOLE ? 1024 : 2048;
	total += iov[n++].iov_len;
	if (kind != LAST) {
		iov[n].iov_base = buf + HUGE + 3 * PG;
		iov[n].iov_len = 512;
		total += iov[n++].iov_len;
	}
	iov[n].iov_base = buf + 2 * HUGE;
	iov[n].iov_len = PG - total % PG;
	return n + 1;
}

/* Reads completed on the device (the bios a read became): /sys/block/X/stat */
static const char *stat_path;
static long disk_reads(void)
{
	return read_long(stat_path);
}

/* FOLL_PIN's counters with every CPU's share folded in */
static long pins_now(void)
{
	int fd = open("/proc/sys/vm/stat_refresh", O_WRONLY);

	if (fd >= 0) {
		if (write(fd, "1", 1) < 0)
			fprintf(stderr, "dio-trim: stat_refresh: %s\n",
				strerror(errno));
		close(fd);
	}
	return pins();
}

/* One layout read into hugepages of its own: 0, or -1 on an I/O error. */
static int run(int fd, const char *ref, int kind)
{
	struct iovec iov[NIOV];
	long before, huge0 = free_huge(), outstanding, reads;
	size_t total = 0, off = 0;
	char *buf;
	ssize_t n;
	int niov, ok = 1;

	buf = mmap(NULL, 4 * HUGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE, -1,
		   0);
	if (buf == MAP_FAILED) {
		printf("dio-trim: no 2 MiB hugepages (%s)\n", strerror(errno));
		return 77;
	}
	niov = layout(iov, buf, kind);
	for (int i = 0; i < niov; i++)
		total += iov[i].iov_len;
	before = pins_now();
	reads = disk_reads();
	n = preadv(fd, iov, niov, 0);
	outstanding = pins_now() - before;
	reads = disk_reads() - reads;
	if (n != (ssize_t)total) {
		fprintf(stderr, "dio-trim: preadv %s: %zd of %zu (%s)\n",
			names[kind], n, total,
			n < 0 ? strerror(errno) : "short");
		munmap(buf, 4 * HUGE);
		return -1;
	}
	for (int i = 0; i < niov; i++) {
		if (memcmp(iov[i].iov_base, ref + off, iov[i].iov_len))
			ok = 0;
		off += iov[i].iov_len;
	}
	munmap(buf, 4 * HUGE);
	printf("REGBUF-DIOTRIM %s iovecs %d pins-outstanding %ld data %s "
	       "hugepages-free %ld %ld disk-reads %ld\n",
	       names[kind], niov, outstanding, ok ? "ok" : "bad", huge0,
	       free_huge(), reads);
	return 0;
}

int main(int argc, char **argv)
{
	char *ref, *path;
	int fd, lbs = 0, rc = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: dio-trim DEVICE\n");
		return 2;
	}
	fd = open(argv[1], O_RDWR | O_DIRECT);
	if (fd < 0 || ioctl(fd, BLKSSZGET, &lbs) || lbs != (int)PG) {
		printf("dio-trim: %s is not a device of 4096-byte blocks\n",
		       argv[1]);
		return 77;
	}
	if (asprintf(&path, "/sys/class/block/%s/stat",
		     strrchr(argv[1], '/') ? strrchr(argv[1], '/') + 1
					   : argv[1]) > 0)
		stat_path = path;
	/* the data every layout reads back */
	ref = aligned_alloc(PG, 64 * PG);
	for (size_t i = 0; i < 64 * PG; i++)
		ref[i] = (char)(i * 7 + i / 4096);
	if (pwrite(fd, ref, 64 * PG, 0) != (ssize_t)(64 * PG)) {
		perror("dio-trim: pwrite");
		return 1;
	}
	for (int kind = PARTIAL; kind <= LAST && !rc; kind++)
		rc = run(fd, ref, kind);
	close(fd);
	return rc < 0 ? 1 : rc;
}
