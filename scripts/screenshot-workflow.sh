#!/usr/bin/env bash
# Screenshot a ticket's workflow history page in Temporal Web with headless Chromium.
#
#   scripts/screenshot-workflow.sh <workflow-id> [out.png]
#   scripts/screenshot-workflow.sh ticket/demo-twh/cubigo-1001
#   TEMPORAL_WEB_URL=http://127.0.0.1:18233 scripts/screenshot-workflow.sh ticket/demo-twh/cubigo-1001 /tmp/t.png
#
# Environment:
#   TEMPORAL_WEB_URL   Temporal Web (default http://127.0.0.1:8233, what `ticketsync dev` serves)
#   NAMESPACE          Temporal namespace (default default)
#   RUN_ID             a particular run (default: the latest, looked up through Temporal Web's API)
#   SCREENSHOT_TIMEOUT seconds before Chromium is given up on (default 120)
#
# The page is /namespaces/<ns>/workflows/<url-encoded id>/<run id>/history (workflow ids contain
# '/', so the id is percent-encoded like Temporal Web's own links). Exits non-zero when Chromium is
# missing, the workflow does not exist, or the page Chromium rendered does not show the workflow.
set -euo pipefail

usage() {
  sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
die() {
  echo "screenshot-workflow: $*" >&2
  exit 1
}

[[ $# -ge 1 && $# -le 2 && $1 != -* ]] || usage
workflow_id=$1
[[ -n $workflow_id ]] || usage
out=${2:-$(printf '%s' "$workflow_id" | tr -c 'A-Za-z0-9._-' '_').png}
base=${TEMPORAL_WEB_URL:-http://127.0.0.1:8233}
base=${base%/}
namespace=${NAMESPACE:-default}
run_id=${RUN_ID:-}
limit=${SCREENSHOT_TIMEOUT:-120}

if ! command -v chromium >/dev/null 2>&1; then
  echo "screenshot-workflow: chromium is not installed. On Debian/Ubuntu:" >&2
  echo "  apt-get update && apt-get install -y chromium" >&2
  exit 1
fi

# urlencode: percent-encode every byte except RFC 3986 unreserved characters (what
# encodeURIComponent leaves alone, minus !'()*).
urlencode() {
  local LC_ALL=C s=$1 out='' c i
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case $c in
      [A-Za-z0-9._~-]) out+=$c ;;
      *) printf -v c '%%%02X' "'$c" && out+=$c ;;
    esac
  done
  printf '%s' "$out"
}

id_enc=$(urlencode "$workflow_id")
ns_enc=$(urlencode "$namespace")

# The run id: Temporal Web's server forwards /api/v1/… to the frontend's HTTP API
# (DescribeWorkflowExecution for GET /api/v1/namespaces/<ns>/workflows/<id>).
if [[ -z $run_id ]]; then
  if command -v curl >/dev/null 2>&1; then
    api="$base/api/v1/namespaces/$ns_enc/workflows/$id_enc"
    resp=$(curl -sS --max-time 15 -w '\n%{http_code}' "$api") || die "Temporal Web is not reachable at $base"
    status=${resp##*$'\n'}
    body=${resp%$'\n'*}
    if [[ $status != 200 ]]; then
      msg=$(printf '%s' "$body" | tr -d '\n' | sed -n 's/.*"message": *"\([^"]*\)".*/\1/p')
      die "workflow $workflow_id in namespace $namespace: HTTP $status${msg:+: $msg}"
    fi
    if command -v jq >/dev/null 2>&1; then
      run_id=$(printf '%s' "$body" | jq -r '.workflowExecutionInfo.execution.runId // empty')
    else # the first runId is workflowExecutionInfo.execution.runId
      run_id=$(printf '%s' "$body" | tr -d '\n' | grep -o '"runId": *"[^"]*"' | head -n 1 | sed 's/.*"\([^"]*\)"$/\1/' || true)
    fi
    [[ $run_id =~ ^[A-Za-z0-9-]+$ ]] || die "no run id in the answer of $api"
  else
    echo "screenshot-workflow: no curl; opening the workflow without a run id (Temporal Web picks the latest run)" >&2
  fi
fi
if [[ -n $run_id ]]; then
  page="/namespaces/$ns_enc/workflows/$id_enc/$(urlencode "$run_id")/history"
else
  page="/namespaces/$ns_enc/workflows/$id_enc"
fi

# --virtual-time-budget lets the page's scripts run (timers fast-forwarded) before the shot, but
# virtual time stands still while a request is pending, and Temporal Web long-polls a running
# workflow's history (…/history?…waitNewEvent=true) again and again: the budget would never run
# out. A PAC script sends only those long polls to a closed port, so they fail at once (the page
# retries after a backoff, which the budget fast-forwards); everything else goes direct. Chromium
# never consults a proxy for loopback hosts, so a loopback Temporal Web is opened under an alias
# name (--host-resolver-rules maps it back). https hides the path from PAC: there the long poll
# cannot be singled out and only SCREENSHOT_TIMEOUT ends a hanging page.
scheme=${base%%://*}
rest=${base#*://}
hostport=${rest%%/*}
prefix=${rest#"$hostport"}
if [[ $hostport =~ ^(\[[^]]*\]|[^:]*)(:[0-9]+)?$ ]]; then
  host=${BASH_REMATCH[1]}
  port=${BASH_REMATCH[2]}
else
  die "cannot parse TEMPORAL_WEB_URL=$base"
fi
extra=()
url="$base$page"
if [[ $scheme == http ]]; then
  pac='function FindProxyForURL(url, host) { if (url.indexOf("waitNewEvent=true") >= 0) return "PROXY 127.0.0.1:9"; return "DIRECT"; }'
  extra+=("--proxy-pac-url=data:application/x-ns-proxy-autoconfig;base64,$(printf '%s' "$pac" | base64 | tr -d '\n')")
  case $host in
    localhost | *.localhost | 127.* | '[::1]')
      alias=temporal-web.screenshot.test
      target=$host
      [[ $host == localhost || $host == *.localhost ]] && target=127.0.0.1
      extra+=("--host-resolver-rules=MAP $alias $target")
      url="http://$alias$port$prefix$page"
      ;;
  esac
fi

mkdir -p "$(dirname "$out")"
out_abs=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
rm -f "$out_abs"
profile=$(mktemp -d)
dom=$(mktemp)
log=$(mktemp)
trap 'rm -rf "$profile" "$dom" "$log"' EXIT

echo "screenshot-workflow: $base$page" >&2
timeout_cmd=()
command -v timeout >/dev/null 2>&1 && timeout_cmd=(timeout "$limit")
set +e
"${timeout_cmd[@]}" chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --window-size=1600,1000 --virtual-time-budget=15000 \
  "${extra[@]}" --dump-dom --screenshot="$out_abs" "$url" >"$dom" 2>"$log"
rc=$?
set -e
if [[ $rc -eq 124 ]]; then
  die "chromium did not finish within ${limit}s (SCREENSHOT_TIMEOUT)"
elif [[ $rc -ne 0 ]]; then
  tail -n 20 "$log" >&2
  die "chromium failed (exit $rc)"
fi

# A real screenshot: a PNG of the window's size with some content (a blank page is ~7 KB).
[[ -s $out_abs ]] || die "chromium wrote no screenshot"
magic=$(head -c 8 "$out_abs" | od -An -tx1 | tr -d ' \n')
[[ $magic == 89504e470d0a1a0a ]] || die "$out is not a PNG"
size=$(head -c 24 "$out_abs" | tail -c 8 | od -An -tu1 |
  awk '{ printf "%dx%d", (($1*256+$2)*256+$3)*256+$4, (($5*256+$6)*256+$7)*256+$8 }')
bytes=$(wc -c <"$out_abs" | tr -d ' ')
((bytes > 20000)) || die "$out is only $bytes bytes: the page looks empty"

# The page shows the workflow, not Temporal Web's 404 or an error.
escaped=${workflow_id//&/&amp;}
escaped=${escaped//</&lt;}
escaped=${escaped//>/&gt;}
if grep -q 'This is not the Workflow you are looking for' "$dom"; then
  die "Temporal Web shows 404 for $workflow_id (see $out)"
fi
if ! grep -qF -- "$escaped" "$dom"; then
  die "the page does not show workflow $workflow_id (see $out)"
fi
echo "screenshot-workflow: wrote $out ($size, $bytes bytes)"
