// ProcessArguments.c has no interface: it defines the Swift runtime's look-up of argc and argv
// for the static CLI (see there). This header exists because SwiftPM wants a C target to have one.
