using System.Buffers.Binary;
using System.Text;

namespace PgRouter.Protocol;

/// <summary>
/// Reads and rewrites the statement name in extended-protocol messages (bodies, without type and
/// length): Parse (name, query, types), Bind (portal, statement, rest), Describe and Close
/// (kind, name). Names are NUL-terminated; everything after them is copied unchanged.
/// </summary>
internal static class ExtendedMessages
{
    /// <summary>Parse: statement name, query text, then Int16 count and Int32 type OIDs.</summary>
    public static bool TryReadParse(ReadOnlySpan<byte> body, out ReadOnlySpan<byte> name, out ReadOnlySpan<byte> query, out ReadOnlySpan<byte> types)
    {
        query = types = default;
        if (!TryCString(body, out name, out var rest) || !TryCString(rest, out query, out types) || types.Length < 2)
        {
            return false;
        }
        return types.Length == 2 + (4 * BinaryPrimitives.ReadInt16BigEndian(types));
    }

    /// <summary>Bind: portal name, statement name, then formats, values and result formats.</summary>
    public static bool TryReadBind(ReadOnlySpan<byte> body, out ReadOnlySpan<byte> portal, out ReadOnlySpan<byte> statement, out ReadOnlySpan<byte> rest)
    {
        statement = rest = default;
        return TryCString(body, out portal, out var afterPortal) && TryCString(afterPortal, out statement, out rest);
    }

    /// <summary>Describe and Close: 'S' (statement) or 'P' (portal), then the name.</summary>
    public static bool TryReadTarget(ReadOnlySpan<byte> body, out byte kind, out ReadOnlySpan<byte> name)
    {
        kind = body.IsEmpty ? (byte)0 : body[0];
        name = default;
        return kind is (byte)'S' or (byte)'P' && TryCString(body[1..], out name, out var rest) && rest.IsEmpty;
    }

    public static void WriteParse(MessageWriter output, string name, ReadOnlySpan<byte> query, ReadOnlySpan<byte> types)
    {
        output.Begin(FrontendMessage.Parse);
        output.WriteCString(name);
        output.WriteBytes(query);
        output.WriteByte(0);
        output.WriteBytes(types);
        output.End();
    }

    public static void WriteBind(MessageWriter output, ReadOnlySpan<byte> portal, string statement, ReadOnlySpan<byte> rest)
    {
        output.Begin(FrontendMessage.Bind);
        output.WriteBytes(portal);
        output.WriteByte(0);
        output.WriteCString(statement);
        output.WriteBytes(rest);
        output.End();
    }

    public static void WriteTarget(MessageWriter output, byte type, byte kind, string name)
    {
        output.Begin(type);
        output.WriteByte(kind);
        output.WriteCString(name);
        output.End();
    }

    private static bool TryCString(ReadOnlySpan<byte> span, out ReadOnlySpan<byte> value, out ReadOnlySpan<byte> rest)
    {
        int end = span.IndexOf((byte)0);
        if (end < 0)
        {
            value = rest = default;
            return false;
        }
        value = span[..end];
        rest = span[(end + 1)..];
        return true;
    }

    public static string Text(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes);
}
