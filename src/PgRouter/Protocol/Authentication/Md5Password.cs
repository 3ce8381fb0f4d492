using System.Security.Cryptography;
using System.Text;

namespace PgRouter.Protocol.Authentication;

/// <summary>PostgreSQL's md5 method: the stored hash is "md5" + md5hex(password + user); the wire answer is "md5" + md5hex(that hex + salt).</summary>
internal static class Md5Password
{
    public static string Stored(string user, string password) => "md5" + Hex(Encoding.UTF8.GetBytes(password + user));

    /// <summary>The answer to AuthenticationMD5Password, from the stored hash (so the plain password is not needed).</summary>
    public static string Response(string storedHash, ReadOnlySpan<byte> salt) =>
        "md5" + Hex([.. Encoding.ASCII.GetBytes(storedHash[3..]), .. salt]);

    public static string Hash(string user, string password, ReadOnlySpan<byte> salt) => Response(Stored(user, password), salt);

    private static string Hex(byte[] data) => Convert.ToHexStringLower(MD5.HashData(data));
}
