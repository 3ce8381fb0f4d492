namespace PgRouter.Authentication;

/// <summary>How PgRouter checks who a client is.</summary>
internal enum AuthMethod
{
    /// <summary>SCRAM-SHA-256 (-PLUS over TLS) against a stored secret; the proof also logs PgRouter in to servers.</summary>
    ScramSha256,

    /// <summary>md5 against a plain or md5-hashed password (a user with only a SCRAM secret gets SCRAM, as in PostgreSQL).</summary>
    Md5,

    /// <summary>Cleartext password, allowed only over TLS.</summary>
    Password,

    /// <summary>No check at all: for a loopback demo only.</summary>
    Trust,

    /// <summary>A TLS client certificate whose common name is the user name.</summary>
    Cert,

    /// <summary>The server checks the client, PgRouter relays the exchange (one server connection per session).</summary>
    Passthrough,
}

internal static class AuthMethods
{
    public static bool TryParse(string? text, out AuthMethod method)
    {
        switch (text?.Trim().ToLowerInvariant())
        {
            case "scram-sha-256": method = AuthMethod.ScramSha256; return true;
            case "md5": method = AuthMethod.Md5; return true;
            case "password": method = AuthMethod.Password; return true;
            case "trust": method = AuthMethod.Trust; return true;
            case "cert": method = AuthMethod.Cert; return true;
            case "passthrough": method = AuthMethod.Passthrough; return true;
            default: method = default; return false;
        }
    }

    public const string Names = "scram-sha-256, md5, password, trust, cert, passthrough";
}
