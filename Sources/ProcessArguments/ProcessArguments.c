// The command line for the Swift runtime of the static CLI, without its /proc/self/maps scan.
//
// Swift's `CommandLine` asks the runtime for argc and argv through
// `_swift_stdlib_getUnsafeArgvArgc`. On Linux the runtime's own definition (CommandLine.cpp in
// libswiftCore) finds them with a static initializer that every process runs before `main`: it
// opens /proc/self/maps, reads it line by line with `sscanf` to find the stack, and walks back
// from `environ` to argv. In the static `eval` that was about 56 000 instructions and a /proc
// read, part of every request's fixed cost (README, "Performance").
//
// glibc calls every ELF constructor with (argc, argv, envp), so the vector is known without
// searching. This object defines the function the runtime's code calls; it is linked before the
// runtime's archive, so the static link takes this definition and leaves the runtime's object
// (and its initializer) out. A dynamic link changes nothing: libswiftCore.so binds its own
// (hidden) definition. The answer is the same argv and argc either way (the CLI's tests run it).
#if defined(__linux__)
#include <features.h>  // defines __GLIBC__ under glibc
#endif
#if defined(__linux__) && defined(__GLIBC__)

static int savedArgc;
static char **savedArgv;

__attribute__((constructor)) static void saveProcessArguments(int argc, char **argv, char **envp) {
    (void)envp;
    savedArgc = argc;
    savedArgv = argv;
}

// The runtime's declaration (swift/stdlib/public/CommandLineSupport/CommandLine.cpp):
// SWIFT_CC(swift) char **_swift_stdlib_getUnsafeArgvArgc(int *outArgLen).
__attribute__((swiftcall)) char **_swift_stdlib_getUnsafeArgvArgc(int *outArgLen) {
    *outArgLen = savedArgc;
    return savedArgv;
}

#endif
