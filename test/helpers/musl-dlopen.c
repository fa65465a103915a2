/*
 * Loads a shared object with musl's dynamic linker, as a musl build of node loads an addon, and
 * looks up the N-API entry point: a musl prebuild that needs a glibc symbol or library fails
 * here. Node's own symbols stay unresolved (RTLD_LAZY): a musl node provides them.
 * Built by test/e2e/package.test.ts with musl-gcc. Exit 0 and "ok" when it loads.
 */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  void *handle = dlopen(argv[1], RTLD_LAZY);
  if (handle == NULL) {
    printf("dlopen: %s\n", dlerror());
    return 1;
  }
  if (dlsym(handle, "napi_register_module_v1") == NULL) {
    printf("no napi_register_module_v1\n");
    return 1;
  }
  printf("ok\n");
  return 0;
}
