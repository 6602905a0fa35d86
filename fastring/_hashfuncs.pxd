"""C-level hash functions shared by every compiled fastring module.

Everything here is ``cdef inline ... noexcept nogil`` on ``(const uint8_t* p,
size_t n)``, so a module that cimports it gets the code inlined into its own
loops.  Written from the published specifications:

- XXH64 and XXH3-64: ``doc/xxhash_spec.md`` in Cyan4973/xxHash.
- MurmurHash3 x86_32 and x64_128 (first 64 bits): ``MurmurHash3.cpp`` by
  Austin Appleby (aappleby/smhasher).
- FNV-1a 64: Fowler/Noll/Vo (offset basis 0xcbf29ce484222325, prime 0x100000001b3).
- MD5: RFC 1321.

Why the byte-order care: results must never depend on the platform, so every
multi-byte read goes through ``_rd32``/``_rd64`` (memcpy, which is safe at any
alignment, then a byte swap on big-endian hosts; ``PY_BIG_ENDIAN`` is a
compile-time constant, so the swap is compiled out on little-endian hosts).
"""

from libc.stdint cimport uint8_t, uint32_t, uint64_t
from libc.stdint cimport int8_t, int32_t, int64_t, uint16_t
from libc.string cimport memchr, memcpy, memset

# Algorithm ids: the contract with the Python layer (``_hashing_py`` uses the
# same numbers).
cdef enum:
    ALGO_XXH64 = 0
    ALGO_XXH3_64 = 1
    ALGO_MURMUR3_32 = 2
    ALGO_MURMUR3_64 = 3
    ALGO_FNV1A_64 = 4
    ALGO_MD5_32 = 5
    # The systems' own hashes (fastring.compat); not in the public ALGORITHMS.
    ALGO_KAFKA_MURMUR2 = 6
    ALGO_REDIS_SLOT = 7
    ALGO_CASSANDRA_TOKEN = 8
    ALGO_SPARK_MURMUR3 = 9
    ALGO_MURMUR3_UTF16 = 10
    ALGO_PANDAS_SIPHASH = 11
    ALGO_ONE_AT_A_TIME = 12
    ALGO_CRC32 = 13
    ALGO_COUNT = 14


cdef extern from *:
    """
    #ifndef FASTRING_HASHFUNCS_H
    #define FASTRING_HASHFUNCS_H
    #include <stdint.h>
    #if defined(_MSC_VER) && (defined(_M_X64) || defined(_M_ARM64))
    #include <intrin.h>
    #endif

    #if defined(__GNUC__) || defined(__clang__)
    #define FR_UNUSED __attribute__((unused))
    #else
    #define FR_UNUSED
    #endif

    /* 1 on big-endian hosts; PY_BIG_ENDIAN comes from pyport.h (Python.h). */
    #if defined(PY_BIG_ENDIAN) && PY_BIG_ENDIAN
    #define FR_BIG_ENDIAN 1
    #else
    #define FR_BIG_ENDIAN 0
    #endif

    #define FR_P32_1 0x9E3779B1U
    #define FR_P32_2 0x85EBCA77U
    #define FR_P32_3 0xC2B2AE3DU
    /* SplitMix64 (Steele, Lea, Flood 2014): increment and finalizer multipliers. */
    #define FR_SPLITMIX_GAMMA 0x9E3779B97F4A7C15ULL
    #define FR_SPLITMIX_MIX1 0xBF58476D1CE4E5B9ULL
    #define FR_SPLITMIX_MIX2 0x94D049BB133111EBULL

    #define FR_P64_1 0x9E3779B185EBCA87ULL
    #define FR_P64_2 0xC2B2AE3D27D4EB4FULL
    #define FR_P64_3 0x165667B19E3779F9ULL
    #define FR_P64_4 0x85EBCA77C2B2AE63ULL
    #define FR_P64_5 0x27D4EB2F165667C5ULL
    #define FR_PRIME_MX1 0x165667919E3779F9ULL
    #define FR_PRIME_MX2 0x9FB21C651E98DF25ULL

    #define FR_MM3_C1_32 0xcc9e2d51U
    #define FR_MM3_C2_32 0x1b873593U
    #define FR_MM3_C1_64 0x87c37b91114253d5ULL
    #define FR_MM3_C2_64 0x4cf5ad432745937fULL
    #define FR_FMIX64_1 0xff51afd7ed558ccdULL
    #define FR_FMIX64_2 0xc4ceb9fe1a85ec53ULL

    /* CRC-16/XMODEM (polynomial 0x1021, initial 0, no reflection), byte-wise table. */
    static const uint16_t fr_crc16_table[256] FR_UNUSED = {
        0x0000, 0x1021, 0x2042, 0x3063, 0x4084, 0x50A5, 0x60C6, 0x70E7,
        0x8108, 0x9129, 0xA14A, 0xB16B, 0xC18C, 0xD1AD, 0xE1CE, 0xF1EF,
        0x1231, 0x0210, 0x3273, 0x2252, 0x52B5, 0x4294, 0x72F7, 0x62D6,
        0x9339, 0x8318, 0xB37B, 0xA35A, 0xD3BD, 0xC39C, 0xF3FF, 0xE3DE,
        0x2462, 0x3443, 0x0420, 0x1401, 0x64E6, 0x74C7, 0x44A4, 0x5485,
        0xA56A, 0xB54B, 0x8528, 0x9509, 0xE5EE, 0xF5CF, 0xC5AC, 0xD58D,
        0x3653, 0x2672, 0x1611, 0x0630, 0x76D7, 0x66F6, 0x5695, 0x46B4,
        0xB75B, 0xA77A, 0x9719, 0x8738, 0xF7DF, 0xE7FE, 0xD79D, 0xC7BC,
        0x48C4, 0x58E5, 0x6886, 0x78A7, 0x0840, 0x1861, 0x2802, 0x3823,
        0xC9CC, 0xD9ED, 0xE98E, 0xF9AF, 0x8948, 0x9969, 0xA90A, 0xB92B,
        0x5AF5, 0x4AD4, 0x7AB7, 0x6A96, 0x1A71, 0x0A50, 0x3A33, 0x2A12,
        0xDBFD, 0xCBDC, 0xFBBF, 0xEB9E, 0x9B79, 0x8B58, 0xBB3B, 0xAB1A,
        0x6CA6, 0x7C87, 0x4CE4, 0x5CC5, 0x2C22, 0x3C03, 0x0C60, 0x1C41,
        0xEDAE, 0xFD8F, 0xCDEC, 0xDDCD, 0xAD2A, 0xBD0B, 0x8D68, 0x9D49,
        0x7E97, 0x6EB6, 0x5ED5, 0x4EF4, 0x3E13, 0x2E32, 0x1E51, 0x0E70,
        0xFF9F, 0xEFBE, 0xDFDD, 0xCFFC, 0xBF1B, 0xAF3A, 0x9F59, 0x8F78,
        0x9188, 0x81A9, 0xB1CA, 0xA1EB, 0xD10C, 0xC12D, 0xF14E, 0xE16F,
        0x1080, 0x00A1, 0x30C2, 0x20E3, 0x5004, 0x4025, 0x7046, 0x6067,
        0x83B9, 0x9398, 0xA3FB, 0xB3DA, 0xC33D, 0xD31C, 0xE37F, 0xF35E,
        0x02B1, 0x1290, 0x22F3, 0x32D2, 0x4235, 0x5214, 0x6277, 0x7256,
        0xB5EA, 0xA5CB, 0x95A8, 0x8589, 0xF56E, 0xE54F, 0xD52C, 0xC50D,
        0x34E2, 0x24C3, 0x14A0, 0x0481, 0x7466, 0x6447, 0x5424, 0x4405,
        0xA7DB, 0xB7FA, 0x8799, 0x97B8, 0xE75F, 0xF77E, 0xC71D, 0xD73C,
        0x26D3, 0x36F2, 0x0691, 0x16B0, 0x6657, 0x7676, 0x4615, 0x5634,
        0xD94C, 0xC96D, 0xF90E, 0xE92F, 0x99C8, 0x89E9, 0xB98A, 0xA9AB,
        0x5844, 0x4865, 0x7806, 0x6827, 0x18C0, 0x08E1, 0x3882, 0x28A3,
        0xCB7D, 0xDB5C, 0xEB3F, 0xFB1E, 0x8BF9, 0x9BD8, 0xABBB, 0xBB9A,
        0x4A75, 0x5A54, 0x6A37, 0x7A16, 0x0AF1, 0x1AD0, 0x2AB3, 0x3A92,
        0xFD2E, 0xED0F, 0xDD6C, 0xCD4D, 0xBDAA, 0xAD8B, 0x9DE8, 0x8DC9,
        0x7C26, 0x6C07, 0x5C64, 0x4C45, 0x3CA2, 0x2C83, 0x1CE0, 0x0CC1,
        0xEF1F, 0xFF3E, 0xCF5D, 0xDF7C, 0xAF9B, 0xBFBA, 0x8FD9, 0x9FF8,
        0x6E17, 0x7E36, 0x4E55, 0x5E74, 0x2E93, 0x3EB2, 0x0ED1, 0x1EF0,
    };

    /* CRC-32 (zlib's: reflected polynomial 0xEDB88320), byte-wise table. */
    static const uint32_t fr_crc32_table[256] FR_UNUSED = {
        0x00000000U, 0x77073096U, 0xEE0E612CU, 0x990951BAU, 0x076DC419U, 0x706AF48FU,
        0xE963A535U, 0x9E6495A3U, 0x0EDB8832U, 0x79DCB8A4U, 0xE0D5E91EU, 0x97D2D988U,
        0x09B64C2BU, 0x7EB17CBDU, 0xE7B82D07U, 0x90BF1D91U, 0x1DB71064U, 0x6AB020F2U,
        0xF3B97148U, 0x84BE41DEU, 0x1ADAD47DU, 0x6DDDE4EBU, 0xF4D4B551U, 0x83D385C7U,
        0x136C9856U, 0x646BA8C0U, 0xFD62F97AU, 0x8A65C9ECU, 0x14015C4FU, 0x63066CD9U,
        0xFA0F3D63U, 0x8D080DF5U, 0x3B6E20C8U, 0x4C69105EU, 0xD56041E4U, 0xA2677172U,
        0x3C03E4D1U, 0x4B04D447U, 0xD20D85FDU, 0xA50AB56BU, 0x35B5A8FAU, 0x42B2986CU,
        0xDBBBC9D6U, 0xACBCF940U, 0x32D86CE3U, 0x45DF5C75U, 0xDCD60DCFU, 0xABD13D59U,
        0x26D930ACU, 0x51DE003AU, 0xC8D75180U, 0xBFD06116U, 0x21B4F4B5U, 0x56B3C423U,
        0xCFBA9599U, 0xB8BDA50FU, 0x2802B89EU, 0x5F058808U, 0xC60CD9B2U, 0xB10BE924U,
        0x2F6F7C87U, 0x58684C11U, 0xC1611DABU, 0xB6662D3DU, 0x76DC4190U, 0x01DB7106U,
        0x98D220BCU, 0xEFD5102AU, 0x71B18589U, 0x06B6B51FU, 0x9FBFE4A5U, 0xE8B8D433U,
        0x7807C9A2U, 0x0F00F934U, 0x9609A88EU, 0xE10E9818U, 0x7F6A0DBBU, 0x086D3D2DU,
        0x91646C97U, 0xE6635C01U, 0x6B6B51F4U, 0x1C6C6162U, 0x856530D8U, 0xF262004EU,
        0x6C0695EDU, 0x1B01A57BU, 0x8208F4C1U, 0xF50FC457U, 0x65B0D9C6U, 0x12B7E950U,
        0x8BBEB8EAU, 0xFCB9887CU, 0x62DD1DDFU, 0x15DA2D49U, 0x8CD37CF3U, 0xFBD44C65U,
        0x4DB26158U, 0x3AB551CEU, 0xA3BC0074U, 0xD4BB30E2U, 0x4ADFA541U, 0x3DD895D7U,
        0xA4D1C46DU, 0xD3D6F4FBU, 0x4369E96AU, 0x346ED9FCU, 0xAD678846U, 0xDA60B8D0U,
        0x44042D73U, 0x33031DE5U, 0xAA0A4C5FU, 0xDD0D7CC9U, 0x5005713CU, 0x270241AAU,
        0xBE0B1010U, 0xC90C2086U, 0x5768B525U, 0x206F85B3U, 0xB966D409U, 0xCE61E49FU,
        0x5EDEF90EU, 0x29D9C998U, 0xB0D09822U, 0xC7D7A8B4U, 0x59B33D17U, 0x2EB40D81U,
        0xB7BD5C3BU, 0xC0BA6CADU, 0xEDB88320U, 0x9ABFB3B6U, 0x03B6E20CU, 0x74B1D29AU,
        0xEAD54739U, 0x9DD277AFU, 0x04DB2615U, 0x73DC1683U, 0xE3630B12U, 0x94643B84U,
        0x0D6D6A3EU, 0x7A6A5AA8U, 0xE40ECF0BU, 0x9309FF9DU, 0x0A00AE27U, 0x7D079EB1U,
        0xF00F9344U, 0x8708A3D2U, 0x1E01F268U, 0x6906C2FEU, 0xF762575DU, 0x806567CBU,
        0x196C3671U, 0x6E6B06E7U, 0xFED41B76U, 0x89D32BE0U, 0x10DA7A5AU, 0x67DD4ACCU,
        0xF9B9DF6FU, 0x8EBEEFF9U, 0x17B7BE43U, 0x60B08ED5U, 0xD6D6A3E8U, 0xA1D1937EU,
        0x38D8C2C4U, 0x4FDFF252U, 0xD1BB67F1U, 0xA6BC5767U, 0x3FB506DDU, 0x48B2364BU,
        0xD80D2BDAU, 0xAF0A1B4CU, 0x36034AF6U, 0x41047A60U, 0xDF60EFC3U, 0xA867DF55U,
        0x316E8EEFU, 0x4669BE79U, 0xCB61B38CU, 0xBC66831AU, 0x256FD2A0U, 0x5268E236U,
        0xCC0C7795U, 0xBB0B4703U, 0x220216B9U, 0x5505262FU, 0xC5BA3BBEU, 0xB2BD0B28U,
        0x2BB45A92U, 0x5CB36A04U, 0xC2D7FFA7U, 0xB5D0CF31U, 0x2CD99E8BU, 0x5BDEAE1DU,
        0x9B64C2B0U, 0xEC63F226U, 0x756AA39CU, 0x026D930AU, 0x9C0906A9U, 0xEB0E363FU,
        0x72076785U, 0x05005713U, 0x95BF4A82U, 0xE2B87A14U, 0x7BB12BAEU, 0x0CB61B38U,
        0x92D28E9BU, 0xE5D5BE0DU, 0x7CDCEFB7U, 0x0BDBDF21U, 0x86D3D2D4U, 0xF1D4E242U,
        0x68DDB3F8U, 0x1FDA836EU, 0x81BE16CDU, 0xF6B9265BU, 0x6FB077E1U, 0x18B74777U,
        0x88085AE6U, 0xFF0F6A70U, 0x66063BCAU, 0x11010B5CU, 0x8F659EFFU, 0xF862AE69U,
        0x616BFFD3U, 0x166CCF45U, 0xA00AE278U, 0xD70DD2EEU, 0x4E048354U, 0x3903B3C2U,
        0xA7672661U, 0xD06016F7U, 0x4969474DU, 0x3E6E77DBU, 0xAED16A4AU, 0xD9D65ADCU,
        0x40DF0B66U, 0x37D83BF0U, 0xA9BCAE53U, 0xDEBB9EC5U, 0x47B2CF7FU, 0x30B5FFE9U,
        0xBDBDF21CU, 0xCABAC28AU, 0x53B39330U, 0x24B4A3A6U, 0xBAD03605U, 0xCDD70693U,
        0x54DE5729U, 0x23D967BFU, 0xB3667A2EU, 0xC4614AB8U, 0x5D681B02U, 0x2A6F2B94U,
        0xB40BBE37U, 0xC30C8EA1U, 0x5A05DF1BU, 0x2D02EF8DU,
    };

    #define FR_FNV64_BASIS 0xcbf29ce484222325ULL
    #define FR_FNV64_PRIME 0x100000001b3ULL

    /* (u128)a * (u128)b, folded: low 64 bits xor high 64 bits (XXH3 mixStep).
       Cython has no 128-bit type, so this one helper is plain C. */
    static inline uint64_t fr_mul128_fold64(uint64_t a, uint64_t b) {
    #if defined(__SIZEOF_INT128__)
        __uint128_t r = (__uint128_t)a * (__uint128_t)b;
        return (uint64_t)r ^ (uint64_t)(r >> 64);
    #elif defined(_MSC_VER) && defined(_M_X64)
        uint64_t hi;
        uint64_t lo = _umul128(a, b, &hi);
        return lo ^ hi;
    #elif defined(_MSC_VER) && defined(_M_ARM64)
        return (a * b) ^ __umulh(a, b);
    #else
        /* Portable 32x32 -> 64 partial products. */
        uint64_t lo_lo = (a & 0xFFFFFFFFULL) * (b & 0xFFFFFFFFULL);
        uint64_t hi_lo = (a >> 32) * (b & 0xFFFFFFFFULL);
        uint64_t lo_hi = (a & 0xFFFFFFFFULL) * (b >> 32);
        uint64_t hi_hi = (a >> 32) * (b >> 32);
        uint64_t cross = (lo_lo >> 32) + (hi_lo & 0xFFFFFFFFULL) + lo_hi;
        uint64_t upper = (hi_lo >> 32) + (cross >> 32) + hi_hi;
        uint64_t lower = (cross << 32) | (lo_lo & 0xFFFFFFFFULL);
        return lower ^ upper;
    #endif
    }

    /* xxhash_spec.md, "Seed and Secret": the default 192-byte XXH3 secret. */
    static const uint8_t fr_xxh3_secret[192] FR_UNUSED = {
      0xb8, 0xfe, 0x6c, 0x39, 0x23, 0xa4, 0x4b, 0xbe, 0x7c, 0x01, 0x81, 0x2c, 0xf7, 0x21, 0xad, 0x1c,
      0xde, 0xd4, 0x6d, 0xe9, 0x83, 0x90, 0x97, 0xdb, 0x72, 0x40, 0xa4, 0xa4, 0xb7, 0xb3, 0x67, 0x1f,
      0xcb, 0x79, 0xe6, 0x4e, 0xcc, 0xc0, 0xe5, 0x78, 0x82, 0x5a, 0xd0, 0x7d, 0xcc, 0xff, 0x72, 0x21,
      0xb8, 0x08, 0x46, 0x74, 0xf7, 0x43, 0x24, 0x8e, 0xe0, 0x35, 0x90, 0xe6, 0x81, 0x3a, 0x26, 0x4c,
      0x3c, 0x28, 0x52, 0xbb, 0x91, 0xc3, 0x00, 0xcb, 0x88, 0xd0, 0x65, 0x8b, 0x1b, 0x53, 0x2e, 0xa3,
      0x71, 0x64, 0x48, 0x97, 0xa2, 0x0d, 0xf9, 0x4e, 0x38, 0x19, 0xef, 0x46, 0xa9, 0xde, 0xac, 0xd8,
      0xa8, 0xfa, 0x76, 0x3f, 0xe3, 0x9c, 0x34, 0x3f, 0xf9, 0xdc, 0xbb, 0xc7, 0xc7, 0x0b, 0x4f, 0x1d,
      0x8a, 0x51, 0xe0, 0x4b, 0xcd, 0xb4, 0x59, 0x31, 0xc8, 0x9f, 0x7e, 0xc9, 0xd9, 0x78, 0x73, 0x64,
      0xea, 0xc5, 0xac, 0x83, 0x34, 0xd3, 0xeb, 0xc3, 0xc5, 0x81, 0xa0, 0xff, 0xfa, 0x13, 0x63, 0xeb,
      0x17, 0x0d, 0xdd, 0x51, 0xb7, 0xf0, 0xda, 0x49, 0xd3, 0x16, 0x55, 0x26, 0x29, 0xd4, 0x68, 0x9e,
      0x2b, 0x16, 0xbe, 0x58, 0x7d, 0x47, 0xa1, 0xfc, 0x8f, 0xf8, 0xb8, 0xd1, 0x7a, 0xd0, 0x31, 0xce,
      0x45, 0xcb, 0x3a, 0x8f, 0x95, 0x16, 0x04, 0x28, 0xaf, 0xd7, 0xfb, 0xca, 0xbb, 0x4b, 0x40, 0x7e,
    };

    /* RFC 1321, 3.4: T[i] = floor(2^32 * abs(sin(i + 1))), and the per-step
       left-rotation amounts of the four rounds. */
    static const uint32_t fr_md5_T[64] FR_UNUSED = {
        0xd76aa478U, 0xe8c7b756U, 0x242070dbU, 0xc1bdceeeU,
        0xf57c0fafU, 0x4787c62aU, 0xa8304613U, 0xfd469501U,
        0x698098d8U, 0x8b44f7afU, 0xffff5bb1U, 0x895cd7beU,
        0x6b901122U, 0xfd987193U, 0xa679438eU, 0x49b40821U,
        0xf61e2562U, 0xc040b340U, 0x265e5a51U, 0xe9b6c7aaU,
        0xd62f105dU, 0x02441453U, 0xd8a1e681U, 0xe7d3fbc8U,
        0x21e1cde6U, 0xc33707d6U, 0xf4d50d87U, 0x455a14edU,
        0xa9e3e905U, 0xfcefa3f8U, 0x676f02d9U, 0x8d2a4c8aU,
        0xfffa3942U, 0x8771f681U, 0x6d9d6122U, 0xfde5380cU,
        0xa4beea44U, 0x4bdecfa9U, 0xf6bb4b60U, 0xbebfbc70U,
        0x289b7ec6U, 0xeaa127faU, 0xd4ef3085U, 0x04881d05U,
        0xd9d4d039U, 0xe6db99e5U, 0x1fa27cf8U, 0xc4ac5665U,
        0xf4292244U, 0x432aff97U, 0xab9423a7U, 0xfc93a039U,
        0x655b59c3U, 0x8f0ccc92U, 0xffeff47dU, 0x85845dd1U,
        0x6fa87e4fU, 0xfe2ce6e0U, 0xa3014314U, 0x4e0811a1U,
        0xf7537e82U, 0xbd3af235U, 0x2ad7d2bbU, 0xeb86d391U,
    };
    static const uint8_t fr_md5_S[16] FR_UNUSED = {
        7, 12, 17, 22,  5, 9, 14, 20,  4, 11, 16, 23,  6, 10, 15, 21,
    };
    #endif /* FASTRING_HASHFUNCS_H */
    """
    const int FR_BIG_ENDIAN
    const uint32_t FR_P32_1
    const uint32_t FR_P32_2
    const uint32_t FR_P32_3
    const uint64_t FR_SPLITMIX_GAMMA
    const uint64_t FR_SPLITMIX_MIX1
    const uint64_t FR_SPLITMIX_MIX2
    const uint64_t FR_P64_1
    const uint64_t FR_P64_2
    const uint64_t FR_P64_3
    const uint64_t FR_P64_4
    const uint64_t FR_P64_5
    const uint64_t FR_PRIME_MX1
    const uint64_t FR_PRIME_MX2
    const uint32_t FR_MM3_C1_32
    const uint32_t FR_MM3_C2_32
    const uint64_t FR_MM3_C1_64
    const uint64_t FR_MM3_C2_64
    const uint64_t FR_FMIX64_1
    const uint64_t FR_FMIX64_2
    const uint64_t FR_FNV64_BASIS
    const uint64_t FR_FNV64_PRIME
    const uint8_t fr_xxh3_secret[192]
    const uint32_t fr_md5_T[64]
    const uint8_t fr_md5_S[16]
    const uint16_t fr_crc16_table[256]
    const uint32_t fr_crc32_table[256]
    uint64_t fr_mul128_fold64(uint64_t a, uint64_t b) noexcept nogil


# ---------------------------------------------------------------- primitives

cdef inline uint32_t _bswap32(uint32_t x) noexcept nogil:
    return (((x & 0xFF) << 24) | ((x & 0xFF00) << 8)
            | ((x >> 8) & 0xFF00) | (x >> 24))


cdef inline uint64_t _bswap64(uint64_t x) noexcept nogil:
    return ((<uint64_t>_bswap32(<uint32_t>x) << 32)
            | <uint64_t>_bswap32(<uint32_t>(x >> 32)))


cdef inline uint32_t _rd32(const uint8_t* p) noexcept nogil:
    """Little-endian uint32 at any alignment."""
    cdef uint32_t v
    memcpy(&v, p, 4)
    if FR_BIG_ENDIAN:
        v = _bswap32(v)
    return v


cdef inline uint64_t _rd64(const uint8_t* p) noexcept nogil:
    """Little-endian uint64 at any alignment."""
    cdef uint64_t v
    memcpy(&v, p, 8)
    if FR_BIG_ENDIAN:
        v = _bswap64(v)
    return v


cdef inline void _wr32(uint8_t* p, uint32_t v) noexcept nogil:
    """Store v as 4 little-endian bytes at any alignment."""
    if FR_BIG_ENDIAN:
        v = _bswap32(v)
    memcpy(p, &v, 4)


cdef inline void _wr64(uint8_t* p, uint64_t v) noexcept nogil:
    """Store v as 8 little-endian bytes at any alignment."""
    if FR_BIG_ENDIAN:
        v = _bswap64(v)
    memcpy(p, &v, 8)


cdef inline uint64_t _rd_partial(const uint8_t* p, size_t n) noexcept nogil:
    """The n < 8 bytes at p as a little-endian integer (MurmurHash3 tails)."""
    cdef uint64_t v = 0
    while n > 0:
        n -= 1
        v = (v << 8) | p[n]
    return v


cdef inline uint32_t _rotl32(uint32_t x, int r) noexcept nogil:
    return (x << r) | (x >> (32 - r))


cdef inline uint64_t _rotl64(uint64_t x, int r) noexcept nogil:
    return (x << r) | (x >> (64 - r))


# ---------------------------------------------------------------- XXH64
# xxhash_spec.md, "XXH64 Algorithm Description".

cdef inline uint64_t _xxh64_round(uint64_t acc, uint64_t lane) noexcept nogil:
    acc = acc + lane * FR_P64_2
    acc = _rotl64(acc, 31)
    return acc * FR_P64_1


cdef inline uint64_t _xxh64_merge(uint64_t acc, uint64_t v) noexcept nogil:
    acc = acc ^ _xxh64_round(0, v)
    return acc * FR_P64_1 + FR_P64_4


cdef inline uint64_t _xxh64_avalanche(uint64_t h) noexcept nogil:
    h = h ^ (h >> 33)
    h = h * FR_P64_2
    h = h ^ (h >> 29)
    h = h * FR_P64_3
    return h ^ (h >> 32)


cdef inline uint64_t _xxh64_stripes(const uint8_t* p, size_t n, uint64_t seed) noexcept nogil:
    """Steps 1-3 for n >= 32: the converged accumulator of the full stripes."""
    cdef const uint8_t* limit = p + n - 32
    cdef uint64_t v1 = seed + FR_P64_1 + FR_P64_2
    cdef uint64_t v2 = seed + FR_P64_2
    cdef uint64_t v3 = seed
    cdef uint64_t v4 = seed - FR_P64_1
    cdef uint64_t acc
    while p <= limit:
        v1 = _xxh64_round(v1, _rd64(p))
        v2 = _xxh64_round(v2, _rd64(p + 8))
        v3 = _xxh64_round(v3, _rd64(p + 16))
        v4 = _xxh64_round(v4, _rd64(p + 24))
        p += 32
    acc = _rotl64(v1, 1) + _rotl64(v2, 7) + _rotl64(v3, 12) + _rotl64(v4, 18)
    acc = _xxh64_merge(acc, v1)
    acc = _xxh64_merge(acc, v2)
    acc = _xxh64_merge(acc, v3)
    return _xxh64_merge(acc, v4)


cdef inline uint64_t _xxh64_finish(uint64_t acc, const uint8_t* p,
                                   size_t rem) noexcept nogil:
    """Step 5 (the last rem < 32 bytes at p) and step 6 (avalanche)."""
    while rem >= 8:
        acc = acc ^ _xxh64_round(0, _rd64(p))
        acc = _rotl64(acc, 27) * FR_P64_1 + FR_P64_4
        p += 8
        rem -= 8
    if rem >= 4:
        acc = acc ^ (<uint64_t>_rd32(p) * FR_P64_1)
        acc = _rotl64(acc, 23) * FR_P64_2 + FR_P64_3
        p += 4
        rem -= 4
    while rem > 0:
        acc = acc ^ (<uint64_t>p[0] * FR_P64_5)
        acc = _rotl64(acc, 11) * FR_P64_1
        p += 1
        rem -= 1
    return _xxh64_avalanche(acc)


cdef inline uint64_t xxh64_lt32(const uint8_t* p, size_t n, uint64_t seed) noexcept nogil:
    """XXH64 for n < 32 only (no stripes; small enough to inline in a loop)."""
    return _xxh64_finish(seed + FR_P64_5 + <uint64_t>n, p, n)


cdef inline uint64_t xxh64(const uint8_t* p, size_t n, uint64_t seed) noexcept nogil:
    """XXH64 of p[0:n]; equals ``xxhash.xxh64_intdigest(data, seed)``."""
    if n < 32:
        # "Special case: input is less than 32 bytes": one accumulator.
        return _xxh64_finish(seed + FR_P64_5 + <uint64_t>n, p, n)
    # Steps 1-3, step 4 (add the length), then the remaining n % 32 bytes.
    return _xxh64_finish(_xxh64_stripes(p, n, seed) + <uint64_t>n,
                         p + (n & ~(<size_t>31)), n & 31)


cdef inline uint64_t xxh64_u64(uint64_t v, uint64_t seed) noexcept nogil:
    """XXH64 of the 8 little-endian bytes of v (the n == 8 path, unrolled)."""
    cdef uint64_t acc = seed + FR_P64_5 + 8
    acc = acc ^ _xxh64_round(0, v)
    acc = _rotl64(acc, 27) * FR_P64_1 + FR_P64_4
    return _xxh64_avalanche(acc)


# ---------------------------------------------------------------- XXH3-64
# xxhash_spec.md, "XXH3 Algorithm Overview" and the small / medium / large
# input sections.  ``secret`` is always 192 bytes here (default or derived).

cdef inline uint64_t _xxh3_avalanche(uint64_t h) noexcept nogil:
    h = h ^ (h >> 37)
    h = h * FR_PRIME_MX1
    return h ^ (h >> 32)


cdef inline uint64_t _xxh3_rrmxmx(uint64_t h, uint64_t n) noexcept nogil:
    h = h ^ _rotl64(h, 49) ^ _rotl64(h, 24)
    h = h * FR_PRIME_MX2
    h = h ^ ((h >> 35) + n)
    h = h * FR_PRIME_MX2
    return h ^ (h >> 28)


cdef inline uint64_t _xxh3_mix16(const uint8_t* p, const uint8_t* s,
                                 uint64_t seed) noexcept nogil:
    """mixStep: 16 bytes of data against 16 bytes of secret."""
    return fr_mul128_fold64(_rd64(p) ^ (_rd64(s) + seed),
                            _rd64(p + 8) ^ (_rd64(s + 8) - seed))


cdef inline uint64_t _xxh3_0(uint64_t seed) noexcept nogil:
    cdef const uint8_t* s = fr_xxh3_secret
    return _xxh64_avalanche(seed ^ (_rd64(s + 56) ^ _rd64(s + 64)))


cdef inline uint64_t _xxh3_1to3(const uint8_t* p, size_t n, uint64_t seed) noexcept nogil:
    cdef const uint8_t* s = fr_xxh3_secret
    cdef uint32_t combined = ((<uint32_t>p[n - 1]) | (<uint32_t>n << 8)
                              | (<uint32_t>p[0] << 16) | (<uint32_t>p[n >> 1] << 24))
    cdef uint64_t bitflip = <uint64_t>(_rd32(s) ^ _rd32(s + 4)) + seed
    return _xxh64_avalanche(<uint64_t>combined ^ bitflip)


cdef inline uint64_t _xxh3_4to8(uint32_t first, uint32_t last, size_t n,
                                uint64_t seed) noexcept nogil:
    cdef const uint8_t* s = fr_xxh3_secret
    seed = seed ^ (<uint64_t>_bswap32(<uint32_t>seed) << 32)
    cdef uint64_t bitflip = (_rd64(s + 8) ^ _rd64(s + 16)) - seed
    cdef uint64_t combined = <uint64_t>last | (<uint64_t>first << 32)
    return _xxh3_rrmxmx(combined ^ bitflip, n)


cdef inline uint64_t _xxh3_9to16(const uint8_t* p, size_t n, uint64_t seed) noexcept nogil:
    cdef const uint8_t* s = fr_xxh3_secret
    cdef uint64_t lo = ((_rd64(s + 24) ^ _rd64(s + 32)) + seed) ^ _rd64(p)
    cdef uint64_t hi = ((_rd64(s + 40) ^ _rd64(s + 48)) - seed) ^ _rd64(p + n - 8)
    cdef uint64_t acc = <uint64_t>n + _bswap64(lo) + hi + fr_mul128_fold64(lo, hi)
    return _xxh3_avalanche(acc)


cdef inline uint64_t _xxh3_17to128(const uint8_t* p, size_t n, uint64_t seed) noexcept nogil:
    cdef const uint8_t* s = fr_xxh3_secret
    cdef uint64_t acc = <uint64_t>n * FR_P64_1
    # Pairs of chunks from the front and the back; additions commute, so the
    # nesting order (as in the reference code) gives the spec's sum.
    if n > 32:
        if n > 64:
            if n > 96:
                acc += _xxh3_mix16(p + 48, s + 96, seed)
                acc += _xxh3_mix16(p + n - 64, s + 112, seed)
            acc += _xxh3_mix16(p + 32, s + 64, seed)
            acc += _xxh3_mix16(p + n - 48, s + 80, seed)
        acc += _xxh3_mix16(p + 16, s + 32, seed)
        acc += _xxh3_mix16(p + n - 32, s + 48, seed)
    acc += _xxh3_mix16(p, s, seed)
    acc += _xxh3_mix16(p + n - 16, s + 16, seed)
    return _xxh3_avalanche(acc)


cdef inline uint64_t _xxh3_129to240(const uint8_t* p, size_t n, uint64_t seed) noexcept nogil:
    cdef const uint8_t* s = fr_xxh3_secret
    cdef uint64_t acc = <uint64_t>n * FR_P64_1
    cdef size_t i
    cdef size_t chunks = n >> 4
    for i in range(8):
        acc += _xxh3_mix16(p + 16 * i, s + 16 * i, seed)
    acc = _xxh3_avalanche(acc)
    for i in range(8, chunks):
        acc += _xxh3_mix16(p + 16 * i, s + 16 * (i - 8) + 3, seed)
    acc += _xxh3_mix16(p + n - 16, s + 119, seed)
    return _xxh3_avalanche(acc)


cdef inline uint64_t _xxh3_sword(size_t k, uint64_t seed) noexcept nogil:
    """Word k (0..23) of the secret derived from ``seed`` ("Seed and Secret":
    the default secret as 24 little-endian u64, +seed on even k, -seed on odd
    k; seed 0 gives the default secret)."""
    cdef uint64_t w = _rd64(fr_xxh3_secret + 8 * k)
    return w + seed if (k & 1) == 0 else w - seed


cdef inline uint64_t _xxh3_sec(size_t off, uint64_t seed) noexcept nogil:
    """The little-endian u64 at byte ``off`` of the derived secret, computed on
    the fly (no 192-byte buffer): an unaligned read takes the high bytes of
    one word and the low bytes of the next."""
    cdef size_t k = off >> 3
    cdef size_t r = (off & 7) * 8
    if r == 0:
        return _xxh3_sword(k, seed)
    return (_xxh3_sword(k, seed) >> r) | (_xxh3_sword(k + 1, seed) << (64 - r))


cdef inline void _xxh3_accumulate(uint64_t* acc, const uint8_t* stripe,
                                  size_t soff, uint64_t seed) noexcept nogil:
    """accumulate(): one 64-byte stripe against the secret at byte soff."""
    cdef size_t i
    cdef uint64_t v, k
    for i in range(8):
        v = _rd64(stripe + 8 * i)
        k = v ^ _xxh3_sec(soff + 8 * i, seed)
        acc[i ^ 1] += v
        acc[i] += (<uint64_t><uint32_t>k) * (k >> 32)


cdef inline void _xxh3_scramble(uint64_t* acc, uint64_t seed) noexcept nogil:
    """round_scramble(): with the last 64 bytes of the secret."""
    cdef size_t i
    cdef uint64_t a
    for i in range(8):
        a = acc[i]
        a = a ^ (a >> 47)
        a = a ^ _xxh3_sword(16 + i, seed)
        acc[i] = a * FR_P32_1


cdef inline uint64_t _xxh3_long(const uint8_t* p, size_t n, uint64_t seed) noexcept nogil:
    """Inputs > 240 bytes. The secret is the default one (seed 0) or the one
    derived from the seed; 192 bytes, so 16 stripes per 1024-byte block."""
    cdef uint64_t acc[8]
    cdef size_t blocks, b, stripes, j
    cdef const uint8_t* blk
    cdef uint64_t result
    cdef size_t i
    acc[0] = FR_P32_3
    acc[1] = FR_P64_1
    acc[2] = FR_P64_2
    acc[3] = FR_P64_3
    acc[4] = FR_P64_4
    acc[5] = FR_P32_2
    acc[6] = FR_P64_5
    acc[7] = FR_P32_1
    # Step 2: full blocks, keeping the last block (full or not) for step 3.
    blocks = (n - 1) // 1024
    for b in range(blocks):
        blk = p + b * 1024
        for j in range(16):
            _xxh3_accumulate(acc, blk + 64 * j, 8 * j, seed)
        _xxh3_scramble(acc, seed)
    # Step 3: the last block's full stripes but its last, then the last 64 bytes.
    stripes = ((n - 1) - 1024 * blocks) // 64
    blk = p + blocks * 1024
    for j in range(stripes):
        _xxh3_accumulate(acc, blk + 64 * j, 8 * j, seed)
    _xxh3_accumulate(acc, p + n - 64, 192 - 71, seed)
    # Step 4: finalMerge(n * PRIME64_1, 11).
    result = <uint64_t>n * FR_P64_1
    for i in range(4):
        result += fr_mul128_fold64(acc[2 * i] ^ _xxh3_sec(11 + 16 * i, seed),
                                   acc[2 * i + 1] ^ _xxh3_sec(11 + 16 * i + 8, seed))
    return _xxh3_avalanche(result)


cdef inline uint64_t xxh3_64_le16(const uint8_t* p, size_t n, uint64_t seed) noexcept nogil:
    """XXH3-64 for n <= 16 only (the small-input paths; inlines in a loop)."""
    if n > 8:
        return _xxh3_9to16(p, n, seed)
    if n >= 4:
        return _xxh3_4to8(_rd32(p), _rd32(p + n - 4), n, seed)
    if n > 0:
        return _xxh3_1to3(p, n, seed)
    return _xxh3_0(seed)


cdef inline uint64_t xxh3_64_gt16(const uint8_t* p, size_t n, uint64_t seed) noexcept nogil:
    """XXH3-64 for n > 16 only (the medium and large paths)."""
    if n <= 128:
        return _xxh3_17to128(p, n, seed)
    if n <= 240:
        return _xxh3_129to240(p, n, seed)
    return _xxh3_long(p, n, seed)


cdef inline uint64_t xxh3_64(const uint8_t* p, size_t n, uint64_t seed) noexcept nogil:
    """XXH3-64 of p[0:n]; equals ``xxhash.xxh3_64_intdigest(data, seed)``.

    Hot loops over short keys should branch themselves,
    ``xxh3_64_le16(p, n, seed) if n <= 16 else xxh3_64_gt16(p, n, seed)``:
    with several call sites of the large part the compiler keeps it out of line
    and inlines the small part (a single-caller function is always merged in,
    which makes this one too big to inline).
    """
    if n <= 16:
        return xxh3_64_le16(p, n, seed)
    return xxh3_64_gt16(p, n, seed)


cdef inline uint64_t xxh3_64_u64(uint64_t v, uint64_t seed) noexcept nogil:
    """XXH3-64 of the 8 little-endian bytes of v (the 4-8 path with n == 8)."""
    return _xxh3_4to8(<uint32_t>v, <uint32_t>(v >> 32), 8, seed)


# ---------------------------------------------------------------- MurmurHash3

cdef inline uint32_t _fmix32(uint32_t h) noexcept nogil:
    h = h ^ (h >> 16)
    h = h * 0x85ebca6bU
    h = h ^ (h >> 13)
    h = h * 0xc2b2ae35U
    return h ^ (h >> 16)


cdef inline uint64_t _fmix64(uint64_t k) noexcept nogil:
    k = k ^ (k >> 33)
    k = k * FR_FMIX64_1
    k = k ^ (k >> 33)
    k = k * FR_FMIX64_2
    return k ^ (k >> 33)


cdef inline uint32_t _mm3_32_k(uint32_t k) noexcept nogil:
    k = k * FR_MM3_C1_32
    k = _rotl32(k, 15)
    return k * FR_MM3_C2_32


cdef inline uint32_t _mm3_32_block(uint32_t h, uint32_t k) noexcept nogil:
    h = h ^ _mm3_32_k(k)
    h = _rotl32(h, 13)
    return h * 5 + 0xe6546b64U


cdef inline uint32_t murmur3_32(const uint8_t* p, size_t n, uint32_t seed) noexcept nogil:
    """MurmurHash3_x86_32; equals ``mmh3.hash(data, seed, signed=False)``."""
    cdef uint32_t h = seed
    cdef size_t nblocks = n >> 2
    cdef size_t i
    cdef size_t rem = n & 3
    for i in range(nblocks):
        h = _mm3_32_block(h, _rd32(p + 4 * i))
    if rem:
        h = h ^ _mm3_32_k(<uint32_t>_rd_partial(p + 4 * nblocks, rem))
    h = h ^ <uint32_t>n
    return _fmix32(h)


cdef inline uint32_t murmur3_32_u64(uint64_t v, uint32_t seed) noexcept nogil:
    """MurmurHash3_x86_32 of the 8 little-endian bytes of v."""
    cdef uint32_t h = _mm3_32_block(seed, <uint32_t>v)
    h = _mm3_32_block(h, <uint32_t>(v >> 32))
    return _fmix32(h ^ 8)


cdef inline uint64_t _mm3_64_k1(uint64_t k1) noexcept nogil:
    k1 = k1 * FR_MM3_C1_64
    k1 = _rotl64(k1, 31)
    return k1 * FR_MM3_C2_64


cdef inline uint64_t _mm3_64_k2(uint64_t k2) noexcept nogil:
    k2 = k2 * FR_MM3_C2_64
    k2 = _rotl64(k2, 33)
    return k2 * FR_MM3_C1_64


cdef inline uint64_t _rd_partial_signed(const uint8_t* p, size_t n) noexcept nogil:
    """Cassandra's tail read: byte j, sign-extended to 64 bits, xor-ed in at 8 * j."""
    cdef uint64_t v = 0
    cdef size_t j
    for j in range(n):
        v = v ^ ((<uint64_t><int64_t>(<int8_t>p[j])) << (8 * j))
    return v


cdef inline uint64_t _mm3_x64_h1(const uint8_t* p, size_t n, uint64_t seed,
                                 bint signed_tail) noexcept nogil:
    """h1 of MurmurHash3_x64_128; ``signed_tail`` reads the tail as Cassandra does."""
    cdef uint64_t h1 = seed
    cdef uint64_t h2 = seed
    cdef size_t nblocks = n >> 4
    cdef size_t i
    cdef size_t rem = n & 15
    cdef const uint8_t* tail
    for i in range(nblocks):
        h1 = h1 ^ _mm3_64_k1(_rd64(p + 16 * i))
        h1 = _rotl64(h1, 27)
        h1 = h1 + h2
        h1 = h1 * 5 + 0x52dce729
        h2 = h2 ^ _mm3_64_k2(_rd64(p + 16 * i + 8))
        h2 = _rotl64(h2, 31)
        h2 = h2 + h1
        h2 = h2 * 5 + 0x38495ab5
    tail = p + 16 * nblocks
    if signed_tail:
        if rem > 8:
            h2 = h2 ^ _mm3_64_k2(_rd_partial_signed(tail + 8, rem - 8))
        if rem > 0:
            h1 = h1 ^ _mm3_64_k1(_rd_partial_signed(tail, rem if rem < 8 else 8))
    elif rem > 8:
        h2 = h2 ^ _mm3_64_k2(_rd_partial(tail + 8, rem - 8))
        h1 = h1 ^ _mm3_64_k1(_rd64(tail))
    elif rem == 8:
        h1 = h1 ^ _mm3_64_k1(_rd64(tail))
    elif rem > 0:
        h1 = h1 ^ _mm3_64_k1(_rd_partial(tail, rem))
    h1 = h1 ^ <uint64_t>n
    h2 = h2 ^ <uint64_t>n
    h1 = h1 + h2
    h2 = h2 + h1
    h1 = _fmix64(h1)
    h2 = _fmix64(h2)
    return h1 + h2


cdef inline uint64_t murmur3_64(const uint8_t* p, size_t n, uint32_t seed) noexcept nogil:
    """h1 of MurmurHash3_x64_128; equals ``mmh3.hash64(data, seed, signed=False)[0]``."""
    return _mm3_x64_h1(p, n, seed, False)


cdef inline uint64_t murmur3_64_u64(uint64_t v, uint32_t seed) noexcept nogil:
    """h1 of MurmurHash3_x64_128 of the 8 little-endian bytes of v."""
    cdef uint64_t h1 = (<uint64_t>seed) ^ _mm3_64_k1(v) ^ 8
    cdef uint64_t h2 = (<uint64_t>seed) ^ 8
    h1 = h1 + h2
    h2 = h2 + h1
    return _fmix64(h1) + _fmix64(h2)


# ---------------------------------------------------------------- FNV-1a 64

cdef inline uint64_t fnv1a_64(const uint8_t* p, size_t n) noexcept nogil:
    """FNV-1a 64 (offset basis 0xcbf29ce484222325, prime 0x100000001b3)."""
    cdef uint64_t h = FR_FNV64_BASIS
    cdef size_t i
    for i in range(n):
        h = (h ^ p[i]) * FR_FNV64_PRIME
    return h


cdef inline uint64_t fnv1a_64_u64(uint64_t v) noexcept nogil:
    """FNV-1a 64 of the 8 little-endian bytes of v."""
    cdef uint64_t h = FR_FNV64_BASIS
    cdef int i
    for i in range(8):
        h = (h ^ ((v >> (8 * i)) & 0xFF)) * FR_FNV64_PRIME
    return h


# ---------------------------------------------------------------- MD5 (RFC 1321)

cdef inline void _md5_block(uint32_t* st, const uint8_t* blk) noexcept nogil:
    """RFC 1321, 3.4: process one 64-byte block into the state st[4].

    Step i computes b + ((a + f(b, c, d) + X[g] + T[i]) <<< s) and rotates the
    registers; one loop per round, so that each loop has a single auxiliary
    function and the compiler can unroll it.
    """
    cdef uint32_t x[16]
    cdef uint32_t a = st[0]
    cdef uint32_t b = st[1]
    cdef uint32_t c = st[2]
    cdef uint32_t d = st[3]
    cdef uint32_t t
    cdef int i
    for i in range(16):
        x[i] = _rd32(blk + 4 * i)
    for i in range(16):  # round 1: F(X,Y,Z) = XY v not(X) Z
        t = a + ((b & c) | (~b & d)) + fr_md5_T[i] + x[i]
        a = d
        d = c
        c = b
        b = b + _rotl32(t, fr_md5_S[i & 3])
    for i in range(16, 32):  # round 2: G(X,Y,Z) = XZ v Y not(Z)
        t = a + ((b & d) | (c & ~d)) + fr_md5_T[i] + x[(5 * i + 1) & 15]
        a = d
        d = c
        c = b
        b = b + _rotl32(t, fr_md5_S[4 + (i & 3)])
    for i in range(32, 48):  # round 3: H(X,Y,Z) = X xor Y xor Z
        t = a + (b ^ c ^ d) + fr_md5_T[i] + x[(3 * i + 5) & 15]
        a = d
        d = c
        c = b
        b = b + _rotl32(t, fr_md5_S[8 + (i & 3)])
    for i in range(48, 64):  # round 4: I(X,Y,Z) = Y xor (X v not(Z))
        t = a + (c ^ (b | ~d)) + fr_md5_T[i] + x[(7 * i) & 15]
        a = d
        d = c
        c = b
        b = b + _rotl32(t, fr_md5_S[12 + (i & 3)])
    st[0] += a
    st[1] += b
    st[2] += c
    st[3] += d


cdef inline void _md5_state(const uint8_t* p, size_t n, uint32_t* st) noexcept nogil:
    """RFC 1321, 3.1-3.4: the final state of MD5 over p[0:n] (with padding)."""
    cdef uint8_t tail[128]
    cdef size_t full = n & ~(<size_t>63)
    cdef size_t rem = n - full
    cdef size_t i, tail_len
    st[0] = 0x67452301U
    st[1] = 0xefcdab89U
    st[2] = 0x98badcfeU
    st[3] = 0x10325476U
    for i in range(0, full, 64):
        _md5_block(st, p + i)
    # 3.1/3.2: append 0x80, zeros up to 56 mod 64, then the bit length (LE u64).
    tail_len = 64 if rem < 56 else 128
    memset(tail, 0, tail_len)
    if rem:
        memcpy(tail, p + full, rem)
    tail[rem] = 0x80
    _wr64(tail + tail_len - 8, (<uint64_t>n) << 3)
    _md5_block(st, tail)
    if tail_len == 128:
        _md5_block(st, tail + 64)


cdef inline void md5_digest(const uint8_t* p, size_t n, uint8_t* out) noexcept nogil:
    """The 16-byte MD5 digest of p[0:n] into out[0:16] (== hashlib.md5().digest())."""
    cdef uint32_t st[4]
    _md5_state(p, n, st)
    _wr32(out, st[0])
    _wr32(out + 4, st[1])
    _wr32(out + 8, st[2])
    _wr32(out + 12, st[3])


cdef inline uint32_t md5_32(const uint8_t* p, size_t n) noexcept nogil:
    """First 4 digest bytes read little-endian (the ketama key hash)."""
    cdef uint32_t st[4]
    _md5_state(p, n, st)
    return st[0]


cdef inline uint32_t md5_32_u64(uint64_t v) noexcept nogil:
    """md5_32 of the 8 little-endian bytes of v."""
    cdef uint8_t buf[8]
    _wr64(buf, v)
    return md5_32(buf, 8)


# ---------------------------------------------------------------- byte order

cdef inline uint64_t read_be64(const uint8_t* d) noexcept nogil:
    """Big-endian uint64 at d (uhashring reads an md5 digest as one big integer)."""
    cdef uint64_t v = 0
    cdef int i
    for i in range(8):
        v = (v << 8) | d[i]
    return v


# ---------------------------------------------------------------- SplitMix64

cdef inline uint64_t mix64(uint64_t z) noexcept nogil:
    """SplitMix64's finalizer (the pure twin: ``_hashfuncs_py.mix64``)."""
    z = (z ^ (z >> 30)) * FR_SPLITMIX_MIX1
    z = (z ^ (z >> 27)) * FR_SPLITMIX_MIX2
    return z ^ (z >> 31)


# ---------------------------------------------------------------- the systems' hashes
# fastring.compat's byte-level hashes, each as its system computes it (the sources
# named are where the details were checked).

cdef inline uint32_t kafka_murmur2(const uint8_t* p, size_t n) noexcept nogil:
    """Kafka's ``Utils.murmur2`` (MurmurHash2, seed 0x9747b28c), as unsigned bits."""
    cdef uint32_t m = 0x5bd1e995U
    cdef uint32_t h = 0x9747b28cU ^ <uint32_t>n
    cdef uint32_t k
    cdef size_t i
    cdef size_t n4 = n & ~(<size_t>3)
    cdef size_t rem = n & 3
    for i in range(0, n4, 4):
        k = _rd32(p + i) * m
        k = (k ^ (k >> 24)) * m
        h = (h * m) ^ k
    if rem == 3:
        h = h ^ (<uint32_t>p[n4 + 2] << 16)
    if rem >= 2:
        h = h ^ (<uint32_t>p[n4 + 1] << 8)
    if rem >= 1:
        h = (h ^ p[n4]) * m
    h = (h ^ (h >> 13)) * m
    return h ^ (h >> 15)


cdef inline uint32_t redis_slot(const uint8_t* p, size_t n) noexcept nogil:
    """Redis Cluster's ``keyHashSlot``: CRC16-XMODEM & 0x3FFF of the key, or of its
    hash tag (between the first ``{`` and the next ``}``, when that is not empty)."""
    cdef const uint8_t* open_ = <const uint8_t*>memchr(p, ord("{"), n)
    cdef const uint8_t* close
    cdef uint16_t crc = 0
    cdef size_t i
    if open_ != NULL:
        close = <const uint8_t*>memchr(open_ + 1, ord("}"), n - <size_t>(open_ + 1 - p))
        if close != NULL and close > open_ + 1:
            p = open_ + 1
            n = <size_t>(close - p)
    for i in range(n):
        crc = <uint16_t>((crc << 8) ^ fr_crc16_table[((crc >> 8) ^ p[i]) & 0xFF])
    return crc & 0x3FFF


cdef inline uint64_t cassandra_token(const uint8_t* p, size_t n) noexcept nogil:
    """Murmur3Partitioner's token as uint64 bits: h1 of MurmurHash3_x64_128 (seed 0)
    with tail bytes sign-extended (Cassandra's ``MurmurHash.hash3_x64_128``); the empty
    key is the minimum token, and a hash of Long.MIN_VALUE becomes Long.MAX_VALUE."""
    cdef uint64_t h
    if n == 0:
        return 0x8000000000000000ULL
    h = _mm3_x64_h1(p, n, 0, True)
    return 0x7FFFFFFFFFFFFFFFULL if h == 0x8000000000000000ULL else h


cdef inline uint32_t spark_murmur3(const uint8_t* p, size_t n, uint32_t seed) noexcept nogil:
    """Spark's ``Murmur3_x86_32.hashUnsafeBytes``: 4-byte blocks as MurmurHash3, then
    each tail byte sign-extended and mixed as a whole block (not standard murmur3)."""
    cdef uint32_t h = seed
    cdef size_t i
    cdef size_t n4 = n & ~(<size_t>3)
    for i in range(0, n4, 4):
        h = _mm3_32_block(h, _rd32(p + i))
    for i in range(n4, n):
        h = _mm3_32_block(h, <uint32_t><int32_t>(<int8_t>p[i]))
    return _fmix32(h ^ <uint32_t>n)


cdef inline size_t _utf8_next(const uint8_t* p, size_t n, uint32_t* cp) noexcept nogil:
    """Decode the code point at p[0:n] (n >= 1) into cp; returns the bytes it took.

    An ill-formed sequence decodes as U+FFFD over its maximal subpart, as Python's
    ``decode("utf-8", "replace")`` and Java's decoder do.
    """
    cdef uint8_t b = p[0]
    cdef size_t need, i
    cdef uint8_t lo = 0x80, hi = 0xBF
    if b < 0x80:
        cp[0] = b
        return 1
    if 0xC2 <= b <= 0xDF:
        need = 1
        cp[0] = b & 0x1F
    elif 0xE0 <= b <= 0xEF:
        need = 2
        cp[0] = b & 0x0F
        if b == 0xE0:
            lo = 0xA0
        elif b == 0xED:
            hi = 0x9F
    elif 0xF0 <= b <= 0xF4:
        need = 3
        cp[0] = b & 0x07
        if b == 0xF0:
            lo = 0x90
        elif b == 0xF4:
            hi = 0x8F
    else:
        cp[0] = 0xFFFD
        return 1
    for i in range(1, need + 1):
        if i >= n or not (lo <= p[i] <= hi):
            cp[0] = 0xFFFD
            return i
        cp[0] = (cp[0] << 6) | (p[i] & 0x3F)
        lo = 0x80
        hi = 0xBF
    return need + 1


cdef inline uint32_t murmur3_utf16(const uint8_t* p, size_t n, uint32_t seed) noexcept nogil:
    """MurmurHash3_x86_32 of the UTF-16LE code units of the UTF-8 text p[0:n]
    (Elasticsearch's ``Murmur3HashFunction.hash(String)``), without building them."""
    cdef uint32_t h = seed
    cdef uint32_t cp, unit
    cdef uint32_t units[2]
    cdef uint32_t pending = 0
    cdef bint has_pending = False
    cdef size_t i = 0, count = 0
    cdef int j, k
    while i < n:
        i += _utf8_next(p + i, n - i, &cp)
        if cp >= 0x10000:
            cp -= 0x10000
            units[0] = 0xD800 + (cp >> 10)
            units[1] = 0xDC00 + (cp & 0x3FF)
            k = 2
        else:
            units[0] = cp
            k = 1
        for j in range(k):
            unit = units[j]
            count += 1
            if has_pending:
                h = _mm3_32_block(h, pending | (unit << 16))
                has_pending = False
            else:
                pending = unit
                has_pending = True
    if has_pending:
        h = h ^ _mm3_32_k(pending)
    return _fmix32(h ^ <uint32_t>(2 * count))


cdef inline void _sip_round(uint64_t* v) noexcept nogil:
    v[0] += v[1]
    v[1] = _rotl64(v[1], 13) ^ v[0]
    v[0] = _rotl64(v[0], 32)
    v[2] += v[3]
    v[3] = _rotl64(v[3], 16) ^ v[2]
    v[0] += v[3]
    v[3] = _rotl64(v[3], 21) ^ v[0]
    v[2] += v[1]
    v[1] = _rotl64(v[1], 17) ^ v[2]
    v[2] = _rotl64(v[2], 32)


cdef inline uint64_t siphash24(const uint8_t* p, size_t n, uint64_t k0, uint64_t k1) noexcept nogil:
    """SipHash-2-4 (Aumasson & Bernstein) with the 128-bit key (k0, k1)."""
    cdef uint64_t v[4]
    cdef uint64_t m
    cdef size_t i
    cdef size_t n8 = n & ~(<size_t>7)
    v[0] = k0 ^ 0x736f6d6570736575ULL
    v[1] = k1 ^ 0x646f72616e646f6dULL
    v[2] = k0 ^ 0x6c7967656e657261ULL
    v[3] = k1 ^ 0x7465646279746573ULL
    for i in range(0, n8, 8):
        m = _rd64(p + i)
        v[3] ^= m
        _sip_round(v)
        _sip_round(v)
        v[0] ^= m
    m = ((<uint64_t>n) << 56) | _rd_partial(p + n8, n - n8)
    v[3] ^= m
    _sip_round(v)
    _sip_round(v)
    v[0] ^= m
    v[2] ^= 0xFF
    for i in range(4):
        _sip_round(v)
    return v[0] ^ v[1] ^ v[2] ^ v[3]


cdef inline uint32_t one_at_a_time(const uint8_t* p, size_t n) noexcept nogil:
    """libhashkit's Jenkins one-at-a-time (libmemcached's default hash), each byte read
    as a signed char (sign-extended), as libhashkit compiles on x86 and ARM64 Linux."""
    cdef uint32_t h = 0
    cdef size_t i
    for i in range(n):
        h += <uint32_t><int32_t>(<int8_t>p[i])
        h += h << 10
        h ^= h >> 6
    h += h << 3
    h ^= h >> 11
    return h + (h << 15)


cdef inline uint32_t crc32_update(uint32_t crc, const uint8_t* p, size_t n) noexcept nogil:
    """CRC-32 (zlib's ``crc32(data, crc)``): continue ``crc`` over p[0:n]."""
    cdef size_t i
    crc = ~crc
    for i in range(n):
        crc = fr_crc32_table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8)
    return ~crc


cdef inline uint64_t pandas_siphash(const uint8_t* p, size_t n) noexcept nogil:
    """``pandas.util.hash_array`` of one string's bytes: SipHash-2-4 with pandas'
    default key "0123456789123456", then pandas' finalizer (SplitMix64's)."""
    return mix64(siphash24(p, n, 0x3736353433323130ULL, 0x3635343332313938ULL))


# ---------------------------------------------------------------- dispatchers

cdef inline bint algo_is_32bit(int algo) noexcept nogil:
    """True for the algorithms whose results are 32-bit (uint32 output)."""
    return (algo == ALGO_MURMUR3_32 or algo == ALGO_MD5_32 or algo == ALGO_KAFKA_MURMUR2
            or algo == ALGO_REDIS_SLOT or algo == ALGO_SPARK_MURMUR3 or algo == ALGO_MURMUR3_UTF16
            or algo == ALGO_ONE_AT_A_TIME or algo == ALGO_CRC32)


cdef inline bint algo_takes_text(int algo) noexcept nogil:
    """True for the systems' hashes of text (fastring.compat encodes their integer keys
    itself): an int among object keys is an error, not 8 little-endian bytes."""
    return ALGO_KAFKA_MURMUR2 <= algo <= ALGO_PANDAS_SIPHASH


cdef inline uint64_t hash_bytes(const uint8_t* p, size_t n, int algo,
                                uint64_t seed) noexcept nogil:
    """Hash p[0:n] with algorithm ``algo``; 32-bit algorithms use <uint32_t>seed."""
    if algo == ALGO_XXH64:
        return xxh64(p, n, seed)
    if algo == ALGO_XXH3_64:
        return xxh3_64(p, n, seed)
    if algo == ALGO_MURMUR3_32:
        return murmur3_32(p, n, <uint32_t>seed)
    if algo == ALGO_MURMUR3_64:
        return murmur3_64(p, n, <uint32_t>seed)
    if algo == ALGO_FNV1A_64:
        return fnv1a_64(p, n)
    if algo == ALGO_MD5_32:
        return md5_32(p, n)
    if algo == ALGO_KAFKA_MURMUR2:
        return kafka_murmur2(p, n)
    if algo == ALGO_REDIS_SLOT:
        return redis_slot(p, n)
    if algo == ALGO_CASSANDRA_TOKEN:
        return cassandra_token(p, n)
    if algo == ALGO_SPARK_MURMUR3:
        return spark_murmur3(p, n, <uint32_t>seed)
    if algo == ALGO_MURMUR3_UTF16:
        return murmur3_utf16(p, n, <uint32_t>seed)
    if algo == ALGO_PANDAS_SIPHASH:
        return pandas_siphash(p, n)
    if algo == ALGO_ONE_AT_A_TIME:
        return one_at_a_time(p, n)
    if algo == ALGO_CRC32:
        return crc32_update(0, p, n)
    return 0


cdef inline uint64_t hash_u64(uint64_t v, int algo, uint64_t seed) noexcept nogil:
    """Equals hash_bytes of the 8 little-endian bytes of v."""
    cdef uint8_t buf[8]
    if algo == ALGO_XXH64:
        return xxh64_u64(v, seed)
    if algo == ALGO_XXH3_64:
        return xxh3_64_u64(v, seed)
    if algo == ALGO_MURMUR3_32:
        return murmur3_32_u64(v, <uint32_t>seed)
    if algo == ALGO_MURMUR3_64:
        return murmur3_64_u64(v, <uint32_t>seed)
    if algo == ALGO_FNV1A_64:
        return fnv1a_64_u64(v)
    if algo == ALGO_MD5_32:
        return md5_32_u64(v)
    # The systems' hashes, on the 8 bytes themselves (fastring.compat encodes integer
    # keys as each system does and passes bytes; this keeps every id total).
    _wr64(buf, v)
    return hash_bytes(buf, 8, algo, seed)
