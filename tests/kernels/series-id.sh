#!/bin/sh
# The version of kernel/patches: a hash of the patches' diffs (from their
# "---" on), so that an edit of a commit message or of the cover letter
# keeps it. pairs.sh tags what it records with it.
cd "$(dirname "$0")/../.."
for f in $(ls kernel/patches/0*.patch | grep -v /0000- | sort); do
	sed -n '/^---$/,$p' "$f"
done | sha256sum | cut -c1-12
