"""Test support shared by every package's suites and the benchmarks: reachable services, ASGI
apps on real sockets, span recording, a scriptable OpenAI-compatible server and ``ragline run``
as a child process. Kept out of the shipped packages: no service image installs it."""
