namespace PgRouter.Authentication;

/// <summary>A user's secret, or that there is none (unknown user), or that nobody could tell just now.</summary>
internal readonly record struct SecretLookup(UserSecret? Secret, string? Unavailable)
{
    public static SecretLookup Unknown => default;

    public static SecretLookup Found(UserSecret secret) => new(secret, null);

    public static SecretLookup Failed(string reason) => new(null, reason);
}
