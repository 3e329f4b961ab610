// zlib, for reading the gzip-compressed MNIST files without unpacking them to disk.
#include <zlib.h>
