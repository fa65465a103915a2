#!/usr/bin/env bash
# Installs the peer relays that bench/peers/*.sh run (Debian's haproxy and rsyslog) when they are missing,
# as root or with sudo without a password, and stops and disables the system services the packages start:
# the peer scripts run their own haproxy and rsyslogd with their own configs on the bench's ports.
set -euo pipefail
have() { command -v "$1" >/dev/null || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }
packages=()
have haproxy || packages+=(haproxy)
have rsyslogd || packages+=(rsyslog)
if [ ${#packages[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then sudo=""; elif sudo -n true 2>/dev/null; then sudo="sudo -n"; else
    echo "install-peers: need root or passwordless sudo to install ${packages[*]}" >&2
    exit 2
  fi
  if ! command -v apt-get >/dev/null; then
    echo "install-peers: no apt-get; install ${packages[*]} by hand" >&2
    exit 2
  fi
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
  for service in haproxy rsyslog; do
    case " ${packages[*]} " in *" $service "*) ;; *) continue ;; esac
    if command -v systemctl >/dev/null && systemctl is-active --quiet "$service" 2>/dev/null; then
      $sudo systemctl disable --now -q "$service"
    elif command -v service >/dev/null && service "$service" status >/dev/null 2>&1; then
      $sudo service "$service" stop >/dev/null
    fi
  done
fi
echo "haproxy: $(command -v haproxy || ls /usr/sbin/haproxy 2>/dev/null || echo 'not installed')"
echo "rsyslogd: $(command -v rsyslogd || ls /usr/sbin/rsyslogd 2>/dev/null || echo 'not installed')"
