#!/bin/sh
# temporal-setup service of docker-compose.temporal.yml (temporalio/admin-tools image): once the
# Temporal server answers, creates the namespace ticketsync uses and registers the custom search
# attributes the Ticket workflow sets (DESIGN.md §3; the same six as devstack.SearchAttributes).
# Safe to run on every start: an existing namespace or attribute is left as it is.
#
# Environment: TEMPORAL_ADDRESS (the temporal CLI reads it), NAMESPACE, NAMESPACE_RETENTION.
set -eu

: "${TEMPORAL_ADDRESS:?TEMPORAL_ADDRESS is required}"
NAMESPACE=${NAMESPACE:-default}
NAMESPACE_RETENTION=${NAMESPACE_RETENTION:-720h}

retry() { # retry <what> <command…>: up to 60 attempts, 2 s apart
  what=$1
  shift
  i=0
  until "$@"; do
    i=$((i + 1))
    if [ "$i" -ge 60 ]; then
      echo "temporal-setup: gave up waiting for $what" >&2
      exit 1
    fi
    sleep 2
  done
}

echo "temporal-setup: waiting for Temporal at $TEMPORAL_ADDRESS"
retry "the Temporal cluster to be healthy" temporal operator cluster health

if temporal operator namespace describe --namespace "$NAMESPACE" >/dev/null 2>&1; then
  echo "temporal-setup: namespace $NAMESPACE exists"
else
  out=$(temporal operator namespace create --namespace "$NAMESPACE" --retention "$NAMESPACE_RETENTION" 2>&1) || case $out in
    *"already exists"* | *AlreadyExists*) ;;
    *) echo "$out" >&2; exit 1 ;;
  esac
  echo "temporal-setup: namespace $NAMESPACE created (retention $NAMESPACE_RETENTION)"
fi
retry "namespace $NAMESPACE" temporal operator namespace describe --namespace "$NAMESPACE" >/dev/null

# The custom search attributes, name=type, one a line (deploy/compose_test.go compares this list
# with the workflow code).
SEARCH_ATTRIBUTES="
TicketTenant=Keyword
TicketConnection=Keyword
TicketExternalId=Keyword
TicketRemoteId=Keyword
TicketStatus=Keyword
TicketNeedsAttention=Bool
"

for sa in $SEARCH_ATTRIBUTES; do
  name=${sa%%=*}
  type=${sa#*=}
  if out=$(temporal operator search-attribute create --namespace "$NAMESPACE" --name "$name" --type "$type" 2>&1); then
    echo "temporal-setup: search attribute $name ($type) registered"
  else
    case $out in
      *"already exists"* | *AlreadyExists*) echo "temporal-setup: search attribute $name already exists" ;;
      *) echo "$out" >&2; exit 1 ;;
    esac
  fi
done

# An attribute that already existed with another type would fail every ticket: check the types.
listing=$(temporal operator search-attribute list --namespace "$NAMESPACE")
for sa in $SEARCH_ATTRIBUTES; do
  name=${sa%%=*}
  type=${sa#*=}
  if ! printf '%s\n' "$listing" | grep -w -- "$name" | grep -qwi -- "$type"; then
    echo "temporal-setup: search attribute $name is not registered as $type in namespace $NAMESPACE:" >&2
    printf '%s\n' "$listing" | grep -w -- "$name" >&2 || true
    exit 1
  fi
done

# Visible to queries once the frontend's search-attribute cache has the new ones.
retry "the search attributes to be queryable" \
  temporal workflow list --namespace "$NAMESPACE" --query 'TicketNeedsAttention = true AND TicketStatus = "OnHold"' --limit 1
echo "temporal-setup: done"
