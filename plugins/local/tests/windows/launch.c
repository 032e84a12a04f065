/* Starts the command line written (UTF-8) in the file argv[1] exactly as Python's subprocess.Popen(str) does on
   Windows: CreateProcessW(NULL, line, ...), waits, and exits with its exit code. Built with mingw-w64 by the tests
   and run under Wine, so that the line reaches cmd.exe byte for byte. */
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>

int wmain(int argc, wchar_t **argv) {
    if (argc != 2) return 120;
    FILE *f = _wfopen(argv[1], L"rb");
    if (!f) return 121;
    static char raw[65536];
    size_t n = fread(raw, 1, sizeof(raw) - 1, f);
    fclose(f);
    raw[n] = 0;
    static wchar_t line[65536];
    if (!MultiByteToWideChar(CP_UTF8, 0, raw, -1, line, 65536)) return 122;
    STARTUPINFOW si = { sizeof(si) };
    PROCESS_INFORMATION pi;
    if (!CreateProcessW(NULL, line, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi)) return 123;
    WaitForSingleObject(pi.hProcess, INFINITE);
    DWORD code = 0;
    GetExitCodeProcess(pi.hProcess, &code);
    return (int)code;
}
