using System.Buffers.Binary;
using System.Text;

namespace PgRouter.Tests.Support;

/// <summary>Wire messages built by hand, independent of the code under test.</summary>
internal static class Messages
{
    public static byte[] Frame(char type, params byte[][] body)
    {
        byte[] payload = body.SelectMany(b => b).ToArray();
        var frame = new byte[5 + payload.Length];
        frame[0] = (byte)type;
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(1), payload.Length + 4);
        payload.CopyTo(frame, 5);
        return frame;
    }

    public static byte[] CString(string text) => [.. Encoding.UTF8.GetBytes(text), 0];

    public static byte[] Int32(int value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(bytes, value);
        return bytes;
    }

    public static byte[] Int16(short value)
    {
        var bytes = new byte[2];
        BinaryPrimitives.WriteInt16BigEndian(bytes, value);
        return bytes;
    }

    public static byte[] Query(string sql) => Frame('Q', CString(sql));

    public static byte[] ReadyForQuery(char status) => Frame('Z', [(byte)status]);

    public static byte[] ParameterStatus(string name, string value) => Frame('S', CString(name), CString(value));

    public static byte[] ErrorResponse(string sqlState, string message) =>
        Frame('E', [(byte)'S'], CString("ERROR"), [(byte)'C'], CString(sqlState), [(byte)'M'], CString(message), [0]);

    public static byte[] DataRow(string value) => Frame('D', Int16(1), Int32(Encoding.UTF8.GetByteCount(value)), Encoding.UTF8.GetBytes(value));

    /// <summary>A packet without type byte: Int32 length, Int32 code, body.</summary>
    public static byte[] Startup(int code, params byte[][] body)
    {
        byte[] payload = body.SelectMany(b => b).ToArray();
        return [.. Int32(payload.Length + 8), .. Int32(code), .. payload];
    }

    public static byte[] StartupMessage(params (string Name, string Value)[] parameters) =>
        Startup(196608, [.. parameters.SelectMany(p => CString(p.Name).Concat(CString(p.Value))), 0]);

    public static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();
}
