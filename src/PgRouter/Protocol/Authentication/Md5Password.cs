using System.Security.Cryptography;
using System.Text;

namespace PgRouter.Protocol.Authentication;

/// <summary>PostgreSQL's md5 method: "md5" + md5hex(md5hex(password + user) + salt).</summary>
internal static class Md5Password
{
    public static string Hash(string user, string password, ReadOnlySpan<byte> salt)
    {
        string inner = Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(password + user)));
        byte[] outerInput = [.. Encoding.ASCII.GetBytes(inner), .. salt];
        return "md5" + Convert.ToHexStringLower(MD5.HashData(outerInput));
    }
}
