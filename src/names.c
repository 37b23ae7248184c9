/* SPDX-License-Identifier: MIT */
/*
 * Every name the library gives a value of its public enums and bits, in
 * one place, below everything else: "2m", "clone_range", "per_bvec", ...
 */
#include <errno.h>
#include <strings.h>

#include "base.h"

static const char *const backing_names[REGBUF_BACKING_NR] = {
	"auto", "1g", "2m", "thp", "4k", "caller",
};

RB_EXPORT const char *regbuf_backing_name(int backing)
{
	if (backing < 0 || backing >= REGBUF_BACKING_NR)
		return "?";
	return backing_names[backing];
}

RB_EXPORT int regbuf_backing_parse(const char *name)
{
	for (int i = 0; name && i < REGBUF_BACKING_NR; i++)
		if (!strcasecmp(name, backing_names[i]))
			return i;
	if (name && (!strcasecmp(name, "huge_1g") || !strcasecmp(name, "1G")))
		return REGBUF_BACKING_HUGE_1G;
	if (name && (!strcasecmp(name, "huge_2m") || !strcasecmp(name, "2M")))
		return REGBUF_BACKING_HUGE_2M;
	if (name && (!strcasecmp(name, "pages") || !strcasecmp(name, "4K")))
		return REGBUF_BACKING_PAGES;
	return rb_err(
		-EINVAL,
		"regbuf_backing_parse: %s%s%s is not a backing (auto, 1g, 2m, thp, 4k, caller)",
		name ? "\"" : "", name ? name : "NULL", name ? "\"" : "");
}

static const char *const feat_names[REGBUF_FEAT_NR] = {
	"sparse",	"clone",	  "clone_ranges", "pbuf_ring",
	"pbuf_inc",	"min_left",	  "mem_region",	  "query",
	"rw_vec_fixed", "coalesce",	  "pagemap_scan", "priv_unaccounted",
	"large_bufs",	"hpage_per_ring", "hpage_xarray", "ring_memlock",
};

RB_EXPORT const char *regbuf_feature_name(uint64_t bit)
{
	for (unsigned i = 0; i < REGBUF_FEAT_NR; i++)
		if (bit == (1ULL << i))
			return feat_names[i];
	return NULL;
}

RB_EXPORT const char *regbuf_attach_cost_name(int cost)
{
	static const char *const n[] = {"none", "per_slot", "per_bvec",
					"register"};

	return cost >= 0 && cost < (int)RB_ARRAY_SIZE(n) ? n[cost] : "?";
}

RB_EXPORT const char *regbuf_attach_method_name(int method)
{
	switch (method) {
	case REGBUF_ATTACH_CLONE_RANGE:
		return "clone_range";
	case REGBUF_ATTACH_CLONE:
		return "clone";
	case REGBUF_ATTACH_REGISTER:
		return "register";
	}
	return "?";
}

RB_EXPORT const char *regbuf_cost_class_name(int cost)
{
	static const char *const n[] = {"fast", "per_page", "mixed", "fault",
					"refused"};

	return cost >= 0 && cost < (int)RB_ARRAY_SIZE(n) ? n[cost] : "?";
}

RB_EXPORT const char *regbuf_map_source_name(int source)
{
	switch (source) {
	case REGBUF_SRC_KPAGEFLAGS:
		return "kpageflags";
	case REGBUF_SRC_PAGEMAP_SCAN:
		return "pagemap_scan";
	case REGBUF_SRC_SMAPS:
		return "smaps";
	}
	return "?";
}

RB_EXPORT const char *regbuf_run_kind_name(int kind)
{
	static const char *const n[] = {"absent", "4k", "thp", "hugetlb",
					"unmapped"};

	return kind >= 0 && kind < (int)RB_ARRAY_SIZE(n) ? n[kind] : "?";
}
