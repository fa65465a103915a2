{
  "targets": [
    {
      "target_name": "relay_udp",
      "sources": ["native/relay_udp.c", "native/relay_udp_send.c", "native/relay_unix.c", "native/relay_udp_args.c", "native/relay_reclaimer.c", "native/relay_reuseport.c", "native/relay_notify.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fvisibility=hidden"],
      "configurations": {
        "Release": {
          "cflags!": ["-O3"],
          "cflags": ["-O2"]
        }
      }
    }
  ]
}
