import Compute
import Foundation
import LLM
import ModelIO

/// Text sources of recovery fine-tuning cut into language-modelling windows.
///
/// The rule (Hugging Face `run_clm.py`'s `group_texts`, the usual recipe for C4 fine-tuning,
/// with documents separated by EOS):
/// 1. Documents: C4 — each line's `text` of the train shard; a `.jsonl` file — each line's
///    `text`; a `.txt` file — the whole file; WikiText-2 — the train split's rows (as Hugging
///    Face yields them) joined with "\n\n" into one text, as WikiText perplexity and
///    LLM-Pruner's validation join them; BookCorpus — the sentences of `book10k.txt` joined
///    with " " into one text, as calibration reads them (they are consecutive sentences of
///    books, a few tokens each). Empty documents are skipped.
/// 2. Each document is tokenized as `tokenizer(text)` does (the tokenizer's own special tokens:
///    BOS for Llama-family tokenizers, none for GPT-2-style ones) and followed by the EOS token,
///    unless the tokenizer has none, the encoding already ends with EOS, or the tokenizer starts
///    every encoding with EOS (OPT's `</s>`, which then already separates documents).
/// 3. The documents' tokens are concatenated in file order and cut into consecutive,
///    non-overlapping windows of exactly `seqlen` tokens; the tail shorter than `seqlen` is
///    dropped. Every next token of a window is a target (labels = tokens).
public enum RecoveryTextCorpus {
    /// The C4 train shard files looked for, in this order (relative to the data directory).
    public static let c4TrainFiles = ["c4/c4-train.00000-of-01024.first1000.jsonl",
                                      "c4/c4-train.00000-of-01024.jsonl", "c4/c4-train.00000-of-01024.json"]
    public static let bookcorpusFile = "bookcorpus/book10k.txt"
    public static let wikitext2TrainFile = "wikitext2/wiki.train.raw"

    /// The documents of a named dataset (or of a `.file`, its format told by `RecoveryFileFormat.detect`),
    /// and the file they came from.
    public static func documents(dataset source: RecoveryDataSource, data: DataDirectory) throws(RecoveryDataError)
        -> (file: String, documents: [String]) {
        do {
            switch source {
            case .c4:
                guard let rel = c4TrainFiles.first(where: { FileManager.default.fileExists(atPath: data.url.appendingPathComponent($0).path) }) else {
                    throw DatasetError.missingFile(expected: c4TrainFiles[0], dataDirectory: data.url.path,
                                                   hint: "C4 train shard 00000, JSON lines with a 'text' field, for recovery fine-tuning")
                }
                let f = try data.file(rel, hint: "C4 train shard for recovery fine-tuning")
                return (f.path, try JSONLines.texts(f, field: "text"))
            case .bookcorpus:
                let raw = try data.text(bookcorpusFile, hint: "BookCorpus sentences for recovery fine-tuning")
                let sentences = raw.split(separator: "\n", omittingEmptySubsequences: true)
                return (data.url.appendingPathComponent(bookcorpusFile).path, [sentences.joined(separator: " ")])
            case .wikitext2:
                let raw = try data.text(wikitext2TrainFile,
                                        hint: "WikiText-2 train split for recovery fine-tuning (the test split is never trained on)")
                return (data.url.appendingPathComponent(wikitext2TrainFile).path,
                        [PerplexityCorpus.wikitext2Rows(raw).joined(separator: "\n\n")])
            case .file(let p):
                let contents = try RecoveryDataFile.contents(p)
                let format = RecoveryFileFormat.detect(path: p, contents: contents)
                return (p, try documents(file: p, contents: contents, format: format))
            }
        } catch let e as RecoveryDataError {
            throw e
        } catch let e as DatasetError {
            throw .dataset(e)
        } catch {
            throw .unreadable(path: "\(source)", reason: "\(error)")
        }
    }

    /// The documents of a user's `.txt` (`text`) or `.jsonl` (`jsonLines`) file; an `alpaca` file
    /// is an error (`AlpacaFile` reads it).
    public static func documents(file path: String, contents: Data, format: RecoveryFileFormat) throws(RecoveryDataError) -> [String] {
        switch format {
        case .text:
            return [try RecoveryDataFile.text(contents, path: path)]
        case .jsonLines:
            var docs: [String] = []
            var lineNo = 0
            for line in contents.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
                lineNo += 1
                if line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { continue }
                guard let obj = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
                    throw .malformedLine(path: path, line: lineNo, reason: "not a JSON object; a JSON-lines file has one object with a \"text\" field per line")
                }
                guard let text = obj["text"] as? String else {
                    throw .malformedLine(path: path, line: lineNo, reason: obj["text"] == nil ? "no \"text\" field" : "\"text\" is not a string")
                }
                docs.append(text)
            }
            return docs
        case .alpaca:
            throw .unreadable(path: path, reason: "it is an Alpaca-format file (instruction examples), not text documents")
        }
    }

    /// The documents' tokens, concatenated with EOS between them (rule 2 above).
    public static func stream(documents: [String], tokenizer: Tokenizer) -> [Int32] {
        let docs = documents.filter { !$0.isEmpty }
        let eos = tokenizer.eosTokenID
        let separated = eos != nil && tokenizer.prefixTokenIDs.first == eos
        var encoded = [[Int32]](repeating: [], count: docs.count)
        encoded.withUnsafeMutableBufferPointer { out in
            let base = out.baseAddress
            parallelFor(docs.count) { start, end in
                for i in start..<end {
                    var ids = tokenizer.encode(docs[i])
                    if let eos, !separated, ids.last != eos { ids.append(eos) }
                    base![i] = ids
                }
            }
        }
        var stream: [Int32] = []
        stream.reserveCapacity(encoded.reduce(0) { $0 + $1.count })
        for e in encoded { stream.append(contentsOf: e) }
        return stream
    }

    /// Consecutive non-overlapping windows of exactly `seqlen` tokens; the tail is dropped.
    public static func windows(stream: [Int32], seqlen: Int) -> [TrainingExample] {
        precondition(seqlen >= 1)
        return (0..<(stream.count / seqlen)).map { TrainingExample(window: Array(stream[($0 * seqlen)..<(($0 + 1) * seqlen)])) }
    }
}
