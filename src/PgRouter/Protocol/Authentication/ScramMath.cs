using System.Security.Cryptography;
using System.Text;

namespace PgRouter.Protocol.Authentication;

/// <summary>
/// The key derivations of SCRAM (RFC 5802), for one hash: PostgreSQL uses SHA-256; SHA-1 exists
/// here only so the RFC's own test vector can check the arithmetic.
/// </summary>
internal sealed class ScramMath(HashAlgorithmName hash)
{
    public static readonly ScramMath Sha256 = new(HashAlgorithmName.SHA256);

    public HashAlgorithmName Hash { get; } = hash;

    /// <summary>Passwords are used as given (no SASLprep), which is exact for ASCII passwords.</summary>
    public byte[] SaltedPassword(string password, byte[] salt, int iterations) =>
        Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, Hash, HashLength);

    public byte[] ClientKey(byte[] saltedPassword) => Hmac(saltedPassword, "Client Key"u8);

    public byte[] ServerKey(byte[] saltedPassword) => Hmac(saltedPassword, "Server Key"u8);

    public byte[] StoredKey(byte[] clientKey) => CryptographicOperations.HashData(Hash, clientKey);

    public byte[] Hmac(byte[] key, ReadOnlySpan<byte> data) => CryptographicOperations.HmacData(Hash, key, data);

    public int HashLength => Hash == HashAlgorithmName.SHA1 ? 20 : 32;

    public static byte[] Xor(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        byte[] result = new byte[a.Length];
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = (byte)(a[i] ^ b[i]);
        }
        return result;
    }
}
