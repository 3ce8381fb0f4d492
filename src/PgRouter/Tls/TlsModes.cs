namespace PgRouter.Tls;

/// <summary>What a listener does with TLS from clients.</summary>
internal enum ClientTlsMode
{
    Disable,
    Allow,
    Require,
}

/// <summary>TLS to servers, with libpq's sslmode meanings.</summary>
internal enum ServerTlsMode
{
    Disable,

    /// <summary>TLS when the server offers it, no certificate check.</summary>
    Prefer,

    /// <summary>TLS or nothing, no certificate check.</summary>
    Require,

    /// <summary>TLS with a certificate that chains to the CA file.</summary>
    VerifyCa,

    /// <summary>As verify-ca, and the certificate names the host PgRouter connected to.</summary>
    VerifyFull,
}

internal static class TlsModes
{
    public static bool TryParseClient(string? text, out ClientTlsMode mode)
    {
        switch (text?.Trim().ToLowerInvariant())
        {
            case "disable": mode = ClientTlsMode.Disable; return true;
            case "allow": mode = ClientTlsMode.Allow; return true;
            case "require": mode = ClientTlsMode.Require; return true;
            default: mode = default; return false;
        }
    }

    public static bool TryParseServer(string? text, out ServerTlsMode mode)
    {
        switch (text?.Trim().ToLowerInvariant())
        {
            case "disable": mode = ServerTlsMode.Disable; return true;
            case "prefer": mode = ServerTlsMode.Prefer; return true;
            case "require": mode = ServerTlsMode.Require; return true;
            case "verify-ca": mode = ServerTlsMode.VerifyCa; return true;
            case "verify-full": mode = ServerTlsMode.VerifyFull; return true;
            default: mode = default; return false;
        }
    }
}
