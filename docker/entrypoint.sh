#!/bin/sh
# Entrypoint of the ovtriton image: convert a mounted OVMS config.json or serve a mounted Triton
# model repository, then exec tritonserver with the openvino_py backend.
#
#   entrypoint.sh [TRITONSERVER-FLAG...]   choose the mode (below), then run tritonserver
#   entrypoint.sh COMMAND [ARG...]         run COMMAND instead (bash, ovtriton convert ..., tritonserver ...)
#
# Mode, first match wins:
#   1. OVTRITON_OVMS_CONFIG is set            -> convert that config.json, serve the result
#   2. $OVTRITON_MODEL_REPOSITORY/config.json -> convert it (an OVMS model folder), serve the result
#   3. otherwise                              -> serve $OVTRITON_MODEL_REPOSITORY as it is (a local
#                                                Triton repository, or s3:// gs:// as:// URL; s3://
#                                                with OVMS's S3_ENDPOINT and AWS_REGION too)
#   A --model-repository/--model-store flag among the arguments skips all of this: tritonserver
#   gets the flags as given.
#
# Environment (defaults are the image's; CI points them at the embedded server):
#   OVTRITON_MODEL_REPOSITORY      /models
#   OVTRITON_OVMS_CONFIG           (unset)
#   OVTRITON_CONVERTED_REPOSITORY  /tmp/ovtriton/repository   where conversion writes; replaced at start
#   OVTRITON_HOST                  0.0.0.0   all interfaces: inside a container that is what makes
#                                            the published/Service ports reachable
#   OVTRITON_HTTP_PORT, OVTRITON_GRPC_PORT, OVTRITON_METRICS_PORT   8000, 8001, 8002
#   OVTRITON_BACKEND_DIRECTORY     /opt/tritonserver/backends   (must hold python/ and openvino_py/)
#   TRITONSERVER                   tritonserver
#   OVTRITON                       ovtriton   (the CLI that converts)
#   OVTRITON_ADMIN_KEY_FILE, OVTRITON_ADMIN_KEY   the key of Triton's control APIs (model
#                                  repository, shared memory, logging, trace): a client must send
#                                  the header "ovtriton-admin-key: <key>" (gRPC metadata
#                                  "triton-grpc-protocol-ovtriton-admin-key"). Unset: a random key
#                                  per start, so nobody can use them. Kubernetes: from a Secret.
#   OVTRITON_OPEN_CONTROL_APIS=1   UNSAFE: leave those APIs open to every client
#   OVTRITON_MAX_INPUT_BYTES       MAX_INPUT_BYTES the conversion writes for models with dynamic
#                                  dims (ovtriton convert --max-input-bytes; unset: derived from
#                                  their shape ranges, else 256 MiB). Size it to the memory limit.
#   OVTRITON_HTTP_GUARD            auto   the HTTP guard (python -m ovtriton.server.http_guard) on
#                                  the HTTP port, tritonserver's own HTTP on 127.0.0.1:
#                                  $OVTRITON_UPSTREAM_HTTP_PORT (18000): one JSON request (a huge
#                                  declared shape, deep nesting) otherwise crashes tritonserver
#                                  2.51. auto: unless OVTRITON_HOST is loopback; on; off (UNSAFE)
#   OVTRITON_PYTHON                python3   the interpreter that runs the guard
#   A --http-restricted-api/--grpc-restricted-protocol flag among the arguments replaces ours.
# Extra arguments are passed to tritonserver after the entrypoint's own flags (later flags win).
set -eu

log() { echo "ovtriton-entrypoint: $*" >&2; }
fail() { log "error: $*"; exit 1; }

# Docker convention: a first argument that is not a flag is a command to run instead.
if [ "$#" -gt 0 ] && [ "${1#-}" = "$1" ]; then
    exec "$@"
fi

repository=${OVTRITON_MODEL_REPOSITORY:-/models}
converted=${OVTRITON_CONVERTED_REPOSITORY:-/tmp/ovtriton/repository}
host=${OVTRITON_HOST:-0.0.0.0}
backends=${OVTRITON_BACKEND_DIRECTORY:-/opt/tritonserver/backends}
backends=${backends%/}  # a trailing slash breaks plain python models (server #7410)
tritonserver=${TRITONSERVER:-tritonserver}
ovtriton=${OVTRITON:-ovtriton}

[ -d "$backends/openvino_py" ] || fail "no openvino_py backend in $backends (set OVTRITON_BACKEND_DIRECTORY)"

own_repository=yes
own_restrictions=no
for arg in "$@"; do
    case $arg in
        --model-repository* | --model-store*) own_repository=no ;;
        --http-restricted-api* | --grpc-restricted-protocol*) own_restrictions=yes ;;
    esac
done

# Control APIs closed by default: without this, any client that reaches a port can load Python
# code as a model, unload models, read other clients' shared memory and change logging.
restrict() {
    if [ "${OVTRITON_OPEN_CONTROL_APIS:-}" = 1 ]; then
        log "warning: control APIs open to every client (OVTRITON_OPEN_CONTROL_APIS=1)"
        return
    fi
    if [ "$own_restrictions" = yes ]; then
        log "restricted APIs as given in the arguments"
        return
    fi
    if [ -n "${OVTRITON_ADMIN_KEY_FILE:-}" ]; then
        [ -r "$OVTRITON_ADMIN_KEY_FILE" ] || fail "OVTRITON_ADMIN_KEY_FILE $OVTRITON_ADMIN_KEY_FILE is not readable"
        key=$(tr -d ' \t\r\n' < "$OVTRITON_ADMIN_KEY_FILE")
    elif [ -n "${OVTRITON_ADMIN_KEY:-}" ]; then
        key=$OVTRITON_ADMIN_KEY
    else
        key=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
    fi
    case $key in
        "" | *[,:=\ ]*) fail "the admin key must be one non-empty word without ',', ':', '=' or spaces" ;;
    esac
    apis=logging,model-repository,shared-memory,trace
    http_restriction="--http-restricted-api=$apis:ovtriton-admin-key=$key"
    grpc_restriction="--grpc-restricted-protocol=$apis:ovtriton-admin-key=$key"
}
http_restriction=
grpc_restriction=
restrict

# OVMS's S3 spelling -> tritonserver's (as `ovtriton serve` does, ovtriton/server/remote.py):
# s3://bucket/path with S3_ENDPOINT=http(s)://host[:port] becomes s3://host:port/bucket/path
# (s3://https://host:port/... for TLS); AWS_REGION fills AWS_DEFAULT_REGION. Credentials
# (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) pass as they are, never logged.
s3_for_tritonserver() {
    if [ -n "${AWS_REGION:-}" ] && [ -z "${AWS_DEFAULT_REGION:-}" ]; then
        export AWS_DEFAULT_REGION="$AWS_REGION"
    fi
    rest=${repository#s3://}
    first=${rest%%/*}
    [ -n "${S3_ENDPOINT:-}" ] || return 0
    case $first in *:*) return 0 ;; esac  # already s3://host:port/... (or s3://http...)
    endpoint=${S3_ENDPOINT%/}
    case $endpoint in
        https://*) scheme=https://; address=${endpoint#https://}; port=443 ;;
        http://*) scheme=; address=${endpoint#http://}; port=80 ;;
        *) scheme=; address=$endpoint; port=80 ;;
    esac
    case $address in *:*) ;; *) address=$address:$port ;; esac
    repository="s3://$scheme$address/$rest"
}
# The HTTP guard in front of tritonserver's HTTP port (it dies with tritonserver: it is started
# here, then this shell becomes tritonserver by exec, and the guard has PR_SET_PDEATHSIG).
http_host=$host
http_port=${OVTRITON_HTTP_PORT:-8000}
guard=${OVTRITON_HTTP_GUARD:-auto}
case $guard in
    on) ;;
    off) log "warning: no HTTP guard (OVTRITON_HTTP_GUARD=off): one JSON request can crash tritonserver" ;;
    auto) case $host in 127.0.0.1 | localhost | ::1) guard=off ;; *) guard=on ;; esac ;;
    *) fail "OVTRITON_HTTP_GUARD must be auto, on or off, not '$guard'" ;;
esac
if [ "$guard" = on ]; then
    http_host=127.0.0.1
    http_port=${OVTRITON_UPSTREAM_HTTP_PORT:-18000}
    "${OVTRITON_PYTHON:-python3}" -m ovtriton.server.http_guard --die-with-parent \
        --listen "$host:${OVTRITON_HTTP_PORT:-8000}" --upstream "127.0.0.1:$http_port" \
        ${OVTRITON_MAX_INPUT_BYTES:+"--max-input-bytes=$OVTRITON_MAX_INPUT_BYTES"} &
    log "HTTP guard on $host:${OVTRITON_HTTP_PORT:-8000}, tritonserver's HTTP on 127.0.0.1:$http_port"
fi

# A tritonserver newer than 2.51 may know --http-max-input-size: the guard's own body limit then
# (unless given among the arguments); the guard stays in front either way.
max_input_size=
case " $* " in
    *" --http-max-input-size"*) ;;
    *) if "$tritonserver" --help 2>&1 | grep -q -e '--http-max-input-size'; then
           max_input_size=--http-max-input-size=1073741823
       fi ;;
esac

set -- \
    "--backend-directory=$backends" \
    "--http-address=$http_host" "--http-port=$http_port" \
    "--grpc-address=$host" "--grpc-port=${OVTRITON_GRPC_PORT:-8001}" \
    "--metrics-address=$host" "--metrics-port=${OVTRITON_METRICS_PORT:-8002}" \
    ${http_restriction:+"$http_restriction"} ${grpc_restriction:+"$grpc_restriction"} \
    ${max_input_size:+"$max_input_size"} \
    "$@"

if [ "$own_repository" = no ]; then
    log "serving the repository given in the arguments"
    exec "$tritonserver" "$@"
fi

config=${OVTRITON_OVMS_CONFIG:-}
if [ -z "$config" ] && [ -f "$repository/config.json" ]; then
    config=$repository/config.json
fi

if [ -n "$config" ]; then
    [ -f "$config" ] || fail "OVMS config $config is not a file"
    log "converting OVMS config $config into $converted"
    mkdir -p "$(dirname "$converted")"
    "$ovtriton" convert "$config" -o "$converted" --force \
        ${OVTRITON_MAX_INPUT_BYTES:+"--max-input-bytes=$OVTRITON_MAX_INPUT_BYTES"} \
        || fail "conversion of $config failed (see above)"
    repository=$converted
else
    case $repository in
        s3://*) s3_for_tritonserver ;;
        *://*) ;;  # object storage: tritonserver reads it itself
        *) [ -d "$repository" ] || fail "model repository $repository is not a directory (mount one, or set OVTRITON_MODEL_REPOSITORY)" ;;
    esac
fi

log "serving $repository"
exec "$tritonserver" "--model-repository=$repository" "$@"
