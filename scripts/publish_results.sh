#!/usr/bin/env bash
# Add results folders to the results-data branch of a remote, append-only. The publish workflow runs this
# very script, and tests/test_publish.py runs it against a local bare repository.
#
#   scripts/publish_results.sh HISTORY SRC...
#
# Run from a clone of the repository. Checks out the remote's results-data branch into the new folder
# HISTORY (a git worktree; an empty history when the branch does not exist yet), adds every SRC results
# folder to HISTORY/results with `reportgen merge`, and pushes one commit with what was added (none when
# nothing was new). Never force-pushes: if the branch moved meanwhile, the push fails and nothing is lost.
#
# Environment: PUBLISH_REMOTE (default origin), PUBLISH_BRANCH (default results-data), PUBLISH_MESSAGE
# (the commit message). Authentication is whatever git is configured with; the workflow passes its token
# through GIT_CONFIG_* variables, so it is never written to disk.
#
# Exit status: 0 when everything was added or already there; 2 when `reportgen merge` rejected a file
# (the files that were fine are still pushed); anything else when git or the remote failed.
set -euo pipefail

if [ "$#" -lt 2 ]; then
  echo "usage: $0 HISTORY SRC..." >&2
  exit 64
fi
history=$1
shift
remote=${PUBLISH_REMOTE:-origin}
branch=${PUBLISH_BRANCH:-results-data}
message=${PUBLISH_MESSAGE:-Add results}
export GIT_AUTHOR_NAME=${GIT_AUTHOR_NAME:-reportgen publish}
export GIT_AUTHOR_EMAIL=${GIT_AUTHOR_EMAIL:-reportgen-publish@users.noreply.github.com}
export GIT_COMMITTER_NAME=${GIT_COMMITTER_NAME:-$GIT_AUTHOR_NAME}
export GIT_COMMITTER_EMAIL=${GIT_COMMITTER_EMAIL:-$GIT_AUTHOR_EMAIL}

if [ -e "$history" ]; then
  echo "$0: $history already exists; give a new folder for the history" >&2
  exit 64
fi

# 1. The history so far. ls-remote exits 2 when the branch is missing, anything else non-zero when the
#    remote cannot be read: only the first means "first publish".
status=0
git ls-remote --exit-code --heads "$remote" "refs/heads/$branch" >/dev/null || status=$?
if [ "$status" -eq 0 ]; then
  git fetch --quiet --no-tags "$remote" "+refs/heads/$branch:refs/remotes/$remote/$branch"
  git worktree add --quiet --detach "$history" "refs/remotes/$remote/$branch"
  parent=(-p HEAD)
  echo "History: $branch of $remote at $(git -C "$history" rev-parse --short HEAD)"
elif [ "$status" -eq 2 ]; then
  git worktree add --quiet --detach "$history" HEAD
  git -C "$history" rm -r --quiet -- .  # an empty tree: the first commit of the branch has no parent
  parent=()
  echo "History: no $branch branch on $remote yet; this publish creates it"
else
  echo "$0: cannot read $remote (git ls-remote exited with $status)" >&2
  exit "$status"
fi

# 2. Add every source; merge validates, never replaces a file, and exits 2 when it rejected anything.
merged=0
reportgen merge "$@" --into "$history/results" || merged=$?
if [ "$merged" -ne 0 ] && [ "$merged" -ne 2 ]; then
  exit "$merged"
fi

# 3. One commit with what was added, pushed as a fast-forward (or as the branch's first commit).
if [ -d "$history/results" ]; then
  git -C "$history" add --all --force -- results  # even where a .gitignore names results/
fi
tree=$(git -C "$history" write-tree)
if [ "${#parent[@]}" -gt 0 ] && [ "$tree" = "$(git -C "$history" rev-parse 'HEAD^{tree}')" ]; then
  echo "Nothing new for $branch"
elif [ "${#parent[@]}" -eq 0 ] && [ -z "$(git -C "$history" ls-files)" ]; then
  echo "Nothing to publish: $branch is not created without results"
else
  commit=$(git -C "$history" commit-tree "$tree" ${parent[@]+"${parent[@]}"} -m "$message")
  git -C "$history" reset --quiet "$commit"
  git -C "$history" push --quiet "$remote" "$commit:refs/heads/$branch"
  echo "Pushed $(git -C "$history" rev-parse --short "$commit") to $branch of $remote:"
  git -C "$history" diff-tree --no-commit-id --name-status -r --root "$commit" | sed 's/^/  /'
fi
exit "$merged"
