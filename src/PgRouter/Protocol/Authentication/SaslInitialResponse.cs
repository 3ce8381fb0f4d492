using System.Buffers.Binary;
using System.Text;

namespace PgRouter.Protocol.Authentication;

/// <summary>SASLInitialResponse ('p'): the chosen mechanism (NUL-terminated), Int32 length (-1: none), the data.</summary>
internal static class SaslInitialResponse
{
    public static bool TryParse(ReadOnlySpan<byte> body, out string mechanism, out string data)
    {
        mechanism = data = "";
        int end = body.IndexOf((byte)0);
        if (end < 0 || body.Length < end + 5)
        {
            return false;
        }
        mechanism = Encoding.UTF8.GetString(body[..end]);
        int length = BinaryPrimitives.ReadInt32BigEndian(body[(end + 1)..]);
        var rest = body[(end + 5)..];
        if (length == -1 && rest.IsEmpty)
        {
            return true;
        }
        if (length < 0 || length != rest.Length)
        {
            return false;
        }
        data = Encoding.UTF8.GetString(rest);
        return true;
    }
}
