using System.Globalization;

namespace PgRouter.Configuration;

/// <summary>"host:port", "[v6]:port" or a bare host (port 5432).</summary>
internal static class HostPort
{
    public const int DefaultPort = 5432;

    public static bool TryParse(string text, out string host, out int port)
    {
        host = text;
        port = DefaultPort;
        int colon = text.LastIndexOf(':');
        bool bracketed = text.StartsWith('[');
        if (bracketed && text.IndexOf(']') is int close && close > 0)
        {
            host = text[1..close];
            return close == text.Length - 1 || (text[close + 1] == ':' && TryPort(text[(close + 2)..], out port));
        }
        if (colon > 0 && text.IndexOf(':') == colon)
        {
            host = text[..colon];
            return TryPort(text[(colon + 1)..], out port);
        }
        return text.Length > 0;
    }

    private static bool TryPort(string text, out int port) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is > 0 and < 65536;
}
