namespace OrleansWs.Topics;

// The log's Lua scripts: each runs atomically in Redis.
internal sealed partial class RedisTopicLog
{
    // KEYS: partition stream, topic history, append-id key, topic's last position. ARGV: payload, partition length,
    // history count, history age (ms), append id ("write:index", '' for none), topic, id lifetime (s), '1' for a
    // join marker (kept out of the topic's history and chain).
    // The entry id is made here, not by XADD's '*': the milliseconds of Redis' clock, never below the partition's last
    // id, and a sequence that stays below 2^20 (a position is ms << 20 | seq) however far the clock stepped back.
    private const string AppendScript = """
        local nw, ni = string.match(ARGV[5], '^([^:]*):(%d+)$')
        if nw then
          local last = redis.call('GET', KEYS[3])
          if last then
            local w, i, done = string.match(last, '^([^:]*):(%d+):(.*)$')
            if w == nw and tonumber(i) >= tonumber(ni) then
              local n = 0
              for position in string.gmatch(done, '[^,]+') do
                if n == tonumber(ni) then return {'dup', position} end
                n = n + 1
              end
              return {'dup', ''}
            end
          end
        end
        local t = redis.call('TIME')
        local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local seq = 0
        local tail = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
        if #tail > 0 then
          local lms, lseq = string.match(tail[1][1], '^(%d+)-(%d+)$')
          lms = tonumber(lms)
          lseq = tonumber(lseq)
          if ms <= lms then
            ms = lms
            seq = lseq + 1
            if seq >= 1048576 then
              ms = lms + 1
              seq = 0
            end
          end
        end
        local id = string.format('%.0f-%d', ms, seq)
        local prev = redis.call('GET', KEYS[4]) or ''
        redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], id, 't', ARGV[6], 'p', prev, 'd', ARGV[1])
        if ARGV[8] ~= '1' then
          local added = redis.pcall('XADD', KEYS[2], 'MAXLEN', ARGV[3], id, 'p', prev, 'd', ARGV[1])
          if type(added) == 'table' and added.err then
            if not string.find(added.err, 'equal or smaller', 1, true) then return redis.error_reply(added.err) end
            -- The history holds a later id (the topic lived in another partition under another count): it starts over.
            redis.call('DEL', KEYS[2])
            redis.call('XADD', KEYS[2], id, 'p', prev, 'd', ARGV[1])
          end
          redis.call('XTRIM', KEYS[2], 'MINID', string.format('%.0f', ms - tonumber(ARGV[4])))
          redis.call('PEXPIRE', KEYS[2], ARGV[4])
          redis.call('SET', KEYS[4], id, 'EX', ARGV[7])
        end
        if nw then
          local last = redis.call('GET', KEYS[3])
          local done = ''
          if last then
            local w, i, positions = string.match(last, '^([^:]*):(%d+):(.*)$')
            if w == nw then done = positions .. ',' end
          end
          redis.call('SET', KEYS[3], nw .. ':' .. ni .. ':' .. done .. id, 'EX', ARGV[7])
        end
        return {id, prev}
        """;

    // KEYS: the checkpoints. ARGV: partition, entry id. Only ever forward (an old reader handing over writes late).
    private const string CheckpointScript = """
        local saved = redis.call('HGET', KEYS[1], ARGV[1])
        if saved then
          local sms, sseq = string.match(saved, '^(%d+)-(%d+)$')
          local ms, seq = string.match(ARGV[2], '^(%d+)-(%d+)$')
          if tonumber(sms) > tonumber(ms) or (tonumber(sms) == tonumber(ms) and tonumber(sseq) >= tonumber(seq)) then return 0 end
        end
        redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
        return 1
        """;
}
