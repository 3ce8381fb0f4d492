using System.Globalization;
using System.Security.Cryptography;

namespace PgRouter.Protocol.Authentication;

/// <summary>
/// PostgreSQL's stored SCRAM secret, <c>SCRAM-SHA-256$iterations:salt$StoredKey:ServerKey</c> (base64
/// parts), as in pg_authid.rolpassword. Knowing it lets PgRouter verify a client; a ClientKey
/// recovered from that client's proof then lets PgRouter log in to servers that store the same secret.
/// </summary>
internal sealed record ScramSecret(int Iterations, byte[] Salt, byte[] StoredKey, byte[] ServerKey)
{
    public const string Prefix = "SCRAM-SHA-256$";
    public const int DefaultIterations = 4096;

    public static bool TryParse(string text, out ScramSecret secret)
    {
        secret = null!;
        if (!text.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }
        string[] parts = text[Prefix.Length..].Split('$');
        if (parts.Length != 2)
        {
            return false;
        }
        string[] iterationAndSalt = parts[0].Split(':');
        string[] keys = parts[1].Split(':');
        if (iterationAndSalt.Length != 2 || keys.Length != 2
            || !int.TryParse(iterationAndSalt[0], NumberStyles.None, CultureInfo.InvariantCulture, out int iterations) || iterations < 1
            || !ScramAttributes.TryBase64(iterationAndSalt[1], out byte[] salt) || salt.Length == 0
            || !ScramAttributes.TryBase64(keys[0], out byte[] storedKey) || storedKey.Length != 32
            || !ScramAttributes.TryBase64(keys[1], out byte[] serverKey) || serverKey.Length != 32)
        {
            return false;
        }
        secret = new ScramSecret(iterations, salt, storedKey, serverKey);
        return true;
    }

    /// <summary>The secret PostgreSQL would store for this password (random salt unless given).</summary>
    public static ScramSecret FromPassword(string password, byte[]? salt = null, int iterations = DefaultIterations)
    {
        var math = ScramMath.Sha256;
        salt ??= RandomNumberGenerator.GetBytes(16);
        byte[] salted = math.SaltedPassword(password, salt, iterations);
        return new ScramSecret(iterations, salt, math.StoredKey(math.ClientKey(salted)), math.ServerKey(salted));
    }

    public override string ToString() =>
        $"{Prefix}{Iterations}:{Convert.ToBase64String(Salt)}${Convert.ToBase64String(StoredKey)}:{Convert.ToBase64String(ServerKey)}";
}
