/* Prints each argument it was given (argv[1:]) as one UTF-8 line: what a Windows program's C runtime made of its
   command line. Built with mingw-w64 by the tests and run under Wine. */
#include <windows.h>
#include <stdio.h>

int wmain(int argc, wchar_t **argv) {
    HANDLE out = GetStdHandle(STD_OUTPUT_HANDLE);
    for (int i = 1; i < argc; i++) {
        char buffer[8192];
        int n = WideCharToMultiByte(CP_UTF8, 0, argv[i], -1, buffer, sizeof(buffer) - 2, NULL, NULL);
        DWORD written;
        if (n > 0) {
            buffer[n - 1] = '\n';
            WriteFile(out, "[", 1, &written, NULL);
            WriteFile(out, buffer, n - 1, &written, NULL);
            WriteFile(out, "]\n", 2, &written, NULL);
        }
    }
    return argc - 1 == 0 ? 0 : 7;   /* an exit code the wrapper must record */
}
