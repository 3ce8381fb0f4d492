using System.Globalization;

namespace PgRouter.Protocol;

/// <summary>PostgreSQL's pg_lsn text form, X/Y in hex, as a byte position (X * 2^32 + Y).</summary>
internal static class Lsn
{
    public static bool TryParse(ReadOnlySpan<char> text, out long position)
    {
        position = 0;
        int slash = text.IndexOf('/');
        if (slash <= 0
            || !uint.TryParse(text[..slash], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out uint high)
            || !uint.TryParse(text[(slash + 1)..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out uint low))
        {
            return false;
        }
        position = ((long)high << 32) | low;
        return true;
    }
}
