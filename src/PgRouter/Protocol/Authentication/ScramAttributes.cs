namespace PgRouter.Protocol.Authentication;

/// <summary>SCRAM messages are comma-separated "a=value" attributes with one-letter names.</summary>
internal static class ScramAttributes
{
    public static Dictionary<char, string> Parse(string message)
    {
        var attributes = new Dictionary<char, string>();
        foreach (string part in message.Split(','))
        {
            if (part.Length >= 2 && part[1] == '=')
            {
                attributes.TryAdd(part[0], part[2..]);
            }
        }
        return attributes;
    }

    public static bool TryBase64(string text, out byte[] bytes)
    {
        bytes = new byte[text.Length];
        if (Convert.TryFromBase64String(text, bytes, out int written))
        {
            bytes = bytes[..written];
            return true;
        }
        return false;
    }
}
