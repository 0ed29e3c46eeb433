using System.Buffers;
using System.Buffers.Text;
using System.Text;
using System.Text.Json;
using OrleansWs.Internal;

namespace OrleansWs.Gateway;

/// <summary>An endpoint's resume settings, or none (a wrapper, so that the endpoint can be made by dependency injection).</summary>
internal sealed record EndpointResume(ResumeSettings? Settings);

/// <summary>
/// The resume protocol's frames (docs/protocol.md), in one place: the sub-protocol a client offers, the one-line JSON
/// header before each payload, and the control frames. Payloads pass byte for byte, in a message of their own type.
/// </summary>
internal static class ResumeFraming
{
    public const string Protocol = "orleansws.v1";
    private const string Prefix = "orleansws.v1+";

    /// <summary>Whether the client asks for resume; <paramref name="application"/> gets the application protocols it offers inside ours.</summary>
    public static bool Offered(IReadOnlyList<string> requested, out string[] application)
    {
        var asked = false;
        List<string>? apps = null;
        foreach (var protocol in requested)
        {
            if (protocol == Protocol)
            {
                asked = true;
            }
            else if (protocol.StartsWith(Prefix, StringComparison.Ordinal) && protocol.Length > Prefix.Length)
            {
                asked = true;
                (apps ??= []).Add(protocol[Prefix.Length..]);
            }
        }

        application = apps?.ToArray() ?? [];
        return asked;
    }

    /// <summary>The sub-protocol the 101 names for the handler's choice <paramref name="application"/>.</summary>
    public static string WireProtocol(string? application) => application is null ? Protocol : Prefix + application;

    /// <summary>A frame of the peer's own, with its sequence.</summary>
    public static Message Own(Message payload, long seq)
    {
        Span<byte> header = stackalloc byte[32];
        "{\"s\":"u8.CopyTo(header);
        Utf8Formatter.TryFormat(seq, header[5..], out var written);
        header[5 + written] = (byte)'}';
        header[6 + written] = (byte)'\n';
        return Join(header[..(7 + written)], payload);
    }

    /// <summary>A topic delivery, with the topic and its log position (a string: it exceeds JavaScript's safe integers).</summary>
    public static Message Topic(Message payload, string topic, long position, int index) => Header(payload, w =>
    {
        w.WriteString("t"u8, topic);
        w.WriteString("p"u8, position.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (index > 0)
        {
            w.WriteNumber("i"u8, index);
        }
    });

    /// <summary>The peer joined <paramref name="topic"/> at <paramref name="position"/>: its client's cursor for it is the position before (unless it is further on).</summary>
    public static Message Joined(string topic, long position) => Header(null, w =>
    {
        w.WriteString("op"u8, "sub"u8);
        w.WriteString("t"u8, topic);
        w.WriteString("p"u8, (position - 1).ToString(System.Globalization.CultureInfo.InvariantCulture));
    });

    /// <summary>
    /// A client's topic cursors (the query's <c>ows_pos</c>: a JSON object of topic to <c>"P"</c>, everything up to
    /// position P seen, or <c>"P.I"</c>, up to the I-th message of the entry at P); none for anything that does not parse.
    /// </summary>
    public static Dictionary<string, (long Position, int Index)> Cursors(string? json)
    {
        var cursors = new Dictionary<string, (long, int)>(StringComparer.Ordinal);
        if (string.IsNullOrEmpty(json))
        {
            return cursors;
        }

        try
        {
            foreach (var (topic, value) in JsonSerializer.Deserialize<Dictionary<string, string>>(json) ?? [])
            {
                var dot = value.IndexOf('.');
                var inv = System.Globalization.CultureInfo.InvariantCulture;
                if (dot < 0 && long.TryParse(value, System.Globalization.NumberStyles.AllowLeadingSign, inv, out var whole))
                {
                    cursors[topic] = (whole, int.MaxValue);
                }
                else if (dot > 0 && long.TryParse(value.AsSpan(0, dot), System.Globalization.NumberStyles.AllowLeadingSign, inv, out var position)
                    && int.TryParse(value.AsSpan(dot + 1), System.Globalization.NumberStyles.None, inv, out var index))
                {
                    cursors[topic] = (position, index);
                }
            }
        }
        catch (JsonException)
        {
        }

        return cursors;
    }

    /// <summary>The first frame of a resumable connection.</summary>
    public static Message Welcome(string peerId, ResumeWelcome welcome) => Header(null, w =>
    {
        w.WriteString("op"u8, "welcome"u8);
        w.WriteString("peer"u8, peerId);
        w.WriteString("token"u8, welcome.Token);
        w.WriteBoolean("recovered"u8, welcome.Recovered);
        w.WriteNumber("s"u8, welcome.LastSeq);
        w.WriteNumber("a"u8, welcome.Applied);
        w.WriteNumber("window"u8, (long)welcome.Window.TotalSeconds);
    });

    /// <summary>Every client message up to <paramref name="applied"/> has been applied.</summary>
    public static Message Ack(long applied) => Header(null, w =>
    {
        w.WriteString("op"u8, "ack"u8);
        w.WriteNumber("a"u8, applied);
    });

    /// <summary>What a client's frame is.</summary>
    public enum ClientFrame
    {
        /// <summary>A message: its number and payload.</summary>
        Data,

        /// <summary>A cumulative acknowledgement of peer frames up to a sequence.</summary>
        Ack,

        /// <summary>Not a frame of the protocol.</summary>
        Invalid,
    }

    /// <summary>Reads a client's frame: a message (<paramref name="number"/>, <paramref name="payload"/>) or an ack (<paramref name="number"/>: the sequence).</summary>
    public static ClientFrame Read(Message frame, out long number, out Message? payload)
    {
        (number, payload) = (0, null);
        var data = frame.Data.AsSpan();
        var newline = data.IndexOf((byte)'\n');
        var header = newline < 0 ? data : data[..newline];
        string? op = null;
        var hasNumber = false;
        try
        {
            var reader = new Utf8JsonReader(header);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return ClientFrame.Invalid;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.ValueSpan;
                if (!reader.Read())
                {
                    return ClientFrame.Invalid;
                }

                if (name.SequenceEqual("s"u8) && reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out number))
                {
                    hasNumber = true;
                }
                else if (name.SequenceEqual("op"u8) && reader.TokenType == JsonTokenType.String)
                {
                    op = reader.GetString();
                }
                else
                {
                    reader.Skip();
                }
            }

            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                return ClientFrame.Invalid;
            }
        }
        catch (JsonException)
        {
            return ClientFrame.Invalid;
        }

        if (!hasNumber || number < 0)
        {
            return ClientFrame.Invalid;
        }

        if (op is null && newline >= 0)
        {
            payload = new Message(frame.Data[(newline + 1)..], frame.IsText);
            return ClientFrame.Data;
        }

        return op == "ack" && newline < 0 ? ClientFrame.Ack : ClientFrame.Invalid;
    }

    private static Message Header(Message? payload, Action<Utf8JsonWriter> fields)
    {
        var buffer = new ArrayBufferWriter<byte>(64);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            fields(writer);
            writer.WriteEndObject();
        }

        if (payload is null)
        {
            return new Message(buffer.WrittenMemory.ToArray(), isText: true);
        }

        buffer.Write("\n"u8);
        return Join(buffer.WrittenSpan, payload);
    }

    private static Message Join(ReadOnlySpan<byte> header, Message payload)
    {
        var bytes = new byte[header.Length + payload.Data.Length];
        header.CopyTo(bytes);
        payload.Data.CopyTo(bytes.AsSpan(header.Length));
        return new Message(bytes, payload.IsText);
    }
}

/// <summary>A connection that negotiated resume: the endpoint's settings, and for a resume the token's secret and the client's last sequence.</summary>
internal sealed record ResumeMode(ResumeSettings Settings, string? Secret, long LastSeq, Dictionary<string, (long Position, int Index)>? Cursors = null);
