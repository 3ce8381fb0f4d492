using System.Security.Cryptography;
using System.Text;
using PgRouter.Protocol.Authentication;

namespace PgRouter.Authentication;

/// <summary>
/// What PgRouter knows of a user's password, in one of the three forms PostgreSQL and PgBouncer
/// store: a SCRAM secret, an md5 hash ("md5" + md5hex(password + user)), or the plain text.
/// </summary>
internal sealed class UserSecret
{
    private UserSecret(string? plain, string? md5, ScramSecret? scram)
    {
        Plain = plain;
        Md5 = md5;
        Scram = scram;
    }

    public string? Plain { get; }

    /// <summary>"md5" followed by 32 hex digits.</summary>
    public string? Md5 { get; }

    public ScramSecret? Scram { get; }

    public static UserSecret Parse(string user, string stored)
    {
        if (ScramSecret.TryParse(stored, out var scram))
        {
            return new UserSecret(null, null, scram);
        }
        if (stored.Length == 35 && stored.StartsWith("md5", StringComparison.Ordinal) && stored[3..].All(Uri.IsHexDigit))
        {
            return new UserSecret(null, stored.ToLowerInvariant(), null);
        }
        return new UserSecret(stored, Md5Password.Stored(user, stored), null);
    }

    private ScramSecret? _derived;

    /// <summary>The SCRAM secret to check a client against: the stored one, or one made (once) from the plain text.</summary>
    public ScramSecret? ScramForVerification(string user) =>
        Scram ?? (Plain is null ? null : _derived ??= ScramSecret.FromPassword(Plain, DeterministicSalt(user)));

    /// <summary>Whether a cleartext password is the one this secret stands for.</summary>
    public bool Matches(string user, string password)
    {
        if (Plain is not null)
        {
            return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(Plain), Encoding.UTF8.GetBytes(password));
        }
        if (Md5 is not null)
        {
            return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Md5), Encoding.ASCII.GetBytes(Md5Password.Stored(user, password)));
        }
        var math = ScramMath.Sha256;
        byte[] salted = math.SaltedPassword(password, Scram!.Salt, Scram.Iterations);
        return CryptographicOperations.FixedTimeEquals(math.StoredKey(math.ClientKey(salted)), Scram.StoredKey);
    }

    /// <summary>A salt that stays the same for a user, so a plain-text password always yields the same secret.</summary>
    private static byte[] DeterministicSalt(string user) => SHA256.HashData(Encoding.UTF8.GetBytes("pgrouter:" + user))[..16];

    public override string ToString() => Scram is not null ? "SCRAM secret" : Md5 is not null ? "md5 hash" : "plain password";
}
