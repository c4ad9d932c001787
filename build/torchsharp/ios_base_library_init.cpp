// GCC 13 emits calls to std::ios_base_library_init() (GLIBCXX_3.4.32) to start iostreams.
// Older libstdc++ (GCC 12, Debian 12) lacks it, so TorchSharp's native library is linked against
// this stand-in, which does what the GCC 13 function does: construct the iostream initialiser once.
#include <ios>

namespace std
{
    __attribute__((visibility("default"))) void ios_base_library_init()
    {
        static ios_base::Init initialiser;
    }
}
